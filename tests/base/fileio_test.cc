#include "base/fileio.h"

#include <gtest/gtest.h>
TEST(FileIo, Placeholder) {}
