// `gpuhost-agent update-source` as gpuhost-update-source.service runs it, on
// --root trees: the image's transfers copied to /run/sysupdate.d with the
// node's URL, or nothing (docs/updates.md, section 3).
#include <gtest/gtest.h>

#include <filesystem>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

class UpdateSourceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() + "/usr/lib");
    std::filesystem::copy(TestDataDir() + "/../../overlays/base/usr/lib/sysupdate.d",
                          dir_.path() + "/usr/lib/sysupdate.d");
  }
  std::string Agent(const std::string& args, int* status) {
    // No $CREDENTIALS_DIRECTORY: only the flags count.
    return RunCommand("env -u CREDENTIALS_DIRECTORY '" + AgentBinary() +
                          "' update-source --root '" + dir_.path() + "' " + args + " 2>&1",
                      status);
  }
  TempDir dir_;
};

TEST_F(UpdateSourceCliTest, UrlAndTriesGoIntoRunCopies) {
  int status = -1;
  std::string out = Agent("--url http://10.0.2.2:18081 --tries 1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("updates from http://10.0.2.2:18081/, 1 boot tries (from --url): 4 "
                     "transfers in /run/sysupdate.d"),
            std::string::npos)
      << out;
  auto uki = ReadFileAt(dir_.path() + "/run/sysupdate.d/90-uki.transfer");
  ASSERT_TRUE(uki.ok()) << uki.status().ToString();
  EXPECT_NE(uki->find("\nPath=http://10.0.2.2:18081/\n"), std::string::npos) << *uki;
  EXPECT_NE(uki->find("\nTriesLeft=1\n"), std::string::npos) << *uki;
}

TEST_F(UpdateSourceCliTest, NoUrlLeavesUpdatesOff) {
  int status = -1;
  std::string out = Agent("", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("updates stay off"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/run/sysupdate.d"));
}

TEST_F(UpdateSourceCliTest, BadUrlOrTriesFailAndWriteNothing) {
  int status = -1;
  std::string out = Agent("--url ftp://updates.example.net/", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("must start with https:// or http://"), std::string::npos) << out;
  out = Agent("--url https://updates.example.net/ --tries 0", &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("1..9"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() + "/run/sysupdate.d"));
}

// A fleet's policy can name the update server; the flag (or credential)
// still comes first.
TEST_F(UpdateSourceCliTest, PolicyUpdateUrlIsTheFallback) {
  ASSERT_TRUE(
      WriteFileAtomic(dir_.path() + "/etc/gpuhost/policy.json",
                      R"({"update": {"url": "https://updates.example.net/kvm", "tries": 2}})")
          .ok());
  int status = -1;
  std::string out = Agent("", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("updates from https://updates.example.net/kvm/, 2 boot tries (from the "
                     "policy (/etc/gpuhost/policy.json))"),
            std::string::npos)
      << out;
  out = Agent("--url https://other.example.net/", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("updates from https://other.example.net/, 2 boot tries (from --url)"),
            std::string::npos)
      << out;
  auto uki = ReadFileAt(dir_.path() + "/run/sysupdate.d/90-uki.transfer");
  ASSERT_TRUE(uki.ok());
  EXPECT_NE(uki->find("\nPath=https://other.example.net/\n"), std::string::npos);
  EXPECT_NE(uki->find("\nTriesLeft=2\n"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
