#include "base/strings.h"

#include <gtest/gtest.h>

namespace gpuhost {
namespace {

TEST(StringsTest, ParseHexIsStrict) {
  EXPECT_EQ(ParseHex("0x10de\n"), 0x10deu);
  EXPECT_EQ(ParseHex("10DE"), 0x10deu);
  EXPECT_FALSE(ParseHex("garbage"));
  EXPECT_FALSE(ParseHex("0x"));
  EXPECT_FALSE(ParseHex("12zz"));
  EXPECT_FALSE(ParseHex(""));
}

TEST(StringsTest, ParseIntIsStrict) {
  EXPECT_EQ(ParseInt("-1\n"), -1);
  EXPECT_EQ(ParseInt(" 3 "), 3);
  EXPECT_FALSE(ParseInt("1.5"));
  EXPECT_FALSE(ParseInt("node0"));
}

TEST(StringsTest, SplitKeepsEmptyFields) {
  EXPECT_EQ(Split("a::b", ':'), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(Split("", ':'), (std::vector<std::string>{""}));
}

TEST(StringsTest, HexPads) {
  EXPECT_EQ(Hex(0x3, 4), "0003");
  EXPECT_EQ(Hex(0x10000, 4), "10000");
}

}  // namespace
}  // namespace gpuhost
