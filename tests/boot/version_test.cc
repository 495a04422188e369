#include "boot/version.h"

#include <gtest/gtest.h>

namespace gpuhost::boot {
namespace {

TEST(VersionTest, NumbersCompareAsNumbers) {
  EXPECT_LT(CompareVersions("2", "10"), 0);
  EXPECT_GT(CompareVersions("10", "9"), 0);
  EXPECT_LT(CompareVersions("1.9", "1.10"), 0);
  EXPECT_EQ(CompareVersions("1.02", "1.2"), 0);  // leading zeros do not count
  EXPECT_LT(CompareVersions("20261201.054200", "20261201.061500"), 0);
}

TEST(VersionTest, SameAndLonger) {
  EXPECT_EQ(CompareVersions("3", "3"), 0);
  EXPECT_GT(CompareVersions("1.0.1", "1.0"), 0);
  EXPECT_LT(CompareVersions("1.0", "1.0.1"), 0);
}

TEST(VersionTest, TildeIsOlderThanEverythingEvenTheEnd) {
  EXPECT_LT(CompareVersions("2~rc1", "2"), 0);
  EXPECT_GT(CompareVersions("2", "2~rc1"), 0);
  EXPECT_LT(CompareVersions("2~rc1", "2~rc2"), 0);
}

TEST(VersionTest, NumbersAreNewerThanLetters) {
  EXPECT_GT(CompareVersions("1.1", "1.a"), 0);
  EXPECT_LT(CompareVersions("1.a", "1.b"), 0);
}

TEST(VersionTest, SeparatorsOnlySeparate) {
  EXPECT_EQ(CompareVersions("1.2", "1_2"), 0);
  EXPECT_GT(CompareVersions("2", "1.99"), 0);
}

}  // namespace
}  // namespace gpuhost::boot
