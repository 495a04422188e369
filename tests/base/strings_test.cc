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

TEST(StringsTest, EqualsIgnoreCaseIsAsciiOnlyAndLengthExact) {
  EXPECT_TRUE(EqualsIgnoreCase("Content-Length", "content-LENGTH"));
  EXPECT_FALSE(EqualsIgnoreCase("Host", "Hosts"));
  EXPECT_FALSE(EqualsIgnoreCase("on", "0n"));
  EXPECT_TRUE(EqualsIgnoreCase("", ""));
}

TEST(StringsTest, SplitHostPortAtThePortsColon) {
  auto v4 = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, "8080");
  EXPECT_FALSE(v4->bracketed);
  auto v6 = SplitHostPort("[::1]:9");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, "9");
  EXPECT_TRUE(v6->bracketed);
  auto bare = SplitHostPort("::1:8080");  // the last colon: host "::1" (callers refuse it)
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "::1");
  EXPECT_FALSE(SplitHostPort("[::1]"));
  EXPECT_FALSE(SplitHostPort("localhost"));
}

TEST(StringsTest, HexPads) {
  EXPECT_EQ(Hex(0x3, 4), "0003");
  EXPECT_EQ(Hex(0x10000, 4), "10000");
}

}  // namespace
}  // namespace gpuhost
