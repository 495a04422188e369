#include "cli/args.h"

#include <gtest/gtest.h>

namespace gpuhost::cli {
namespace {

const std::vector<OptionSpec> kSpecs = {
    {"root", true, false, "DIR", "root"},
    {"json", false, false, "", "json"},
    {"listen", true, true, "ADDR", "listen"},
};

Result<Args> ParseList(std::vector<std::string> words) {
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return Args::Parse(kSpecs, static_cast<int>(argv.size()), argv.data(), 0);
}

TEST(ArgsTest, ParsesValuesFlagsAndRepeats) {
  auto a = ParseList({"--root", "/x", "--json", "--listen=a:1", "--listen", "b:2"});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->Get("root"), "/x");
  EXPECT_TRUE(a->Has("json"));
  EXPECT_EQ(a->GetAll("listen"), (std::vector<std::string>{"a:1", "b:2"}));
}

TEST(ArgsTest, ErrorsNameTheOption) {
  EXPECT_NE(ParseList({"--bogus"}).status().message().find("--bogus"), std::string::npos);
  EXPECT_NE(ParseList({"--root"}).status().message().find("--root needs a value"),
            std::string::npos);
  EXPECT_NE(ParseList({"--json=1"}).status().message().find("takes no value"), std::string::npos);
  EXPECT_NE(ParseList({"--root", "a", "--root", "b"}).status().message().find("twice"),
            std::string::npos);
  EXPECT_NE(ParseList({"stray"}).status().message().find("'stray'"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::cli
