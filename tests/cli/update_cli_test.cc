// `gpuhost-agent update` as gpuhost-update.service runs it, with a stand-in
// for systemd-sysupdate (--sysupdate): the exit status, the line it prints
// and the record serve reads (docs/updates.md, section 3).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "host/fs.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

class UpdateCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        fs_.WriteAtomic("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=2\n", 0644)
            .ok());
    ASSERT_TRUE(fs_.WriteAtomic("/efi/EFI/Linux/gpuhost-kvm-host_2.efi", "uki", 0644).ok());
  }
  // A systemd-sysupdate that runs `body` (sh) when called as `update`.
  std::string FakeSysupdate(const std::string& body) {
    std::string path = dir_.path() + "/fake-sysupdate";
    EXPECT_TRUE(
        WriteFileAtomic(path, "#!/bin/sh\n[ \"$1\" = update ] || exit 3\n" + body + "\n", 0755)
            .ok());
    return path;
  }
  std::string Update(const std::string& sysupdate, int* status) {
    return RunCommand("'" + AgentBinary() + "' update --root '" + dir_.path() + "' --sysupdate '" +
                          sysupdate + "' 2>&1",
                      status);
  }
  nlohmann::json Record() {
    auto text = ReadFileAt(dir_.path() + "/var/lib/gpuhost/update.json");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return nlohmann::json::parse(text.value_or("{}"));
  }
  TempDir dir_;
  RootFs fs_{dir_.path()};
};

TEST_F(UpdateCliTest, InstalledVersionIsRecorded) {
  std::string uki = dir_.path() + "/efi/EFI/Linux/gpuhost-kvm-host_3+3.efi";
  int status = -1;
  std::string out = Update(FakeSysupdate("echo uki > '" + uki + "'"), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("update updated in "), std::string::npos) << out;
  EXPECT_NE(out.find("version 3 is installed and boots next"), std::string::npos) << out;
  auto j = Record();
  EXPECT_EQ(j["result"], "updated");
  EXPECT_EQ(j["from_version"], "2");
  EXPECT_EQ(j["to_version"], "3");
  EXPECT_EQ(j["reboot_requested"], false);
}

TEST_F(UpdateCliTest, FailingSysupdateFailsAndIsRecorded) {
  int status = -1;
  std::string out = Update(FakeSysupdate("echo 'no route to host' >&2; exit 1"), &status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("update failed in "), std::string::npos) << out;
  EXPECT_EQ(Record()["result"], "failed");
}

TEST_F(UpdateCliTest, NothingNewIsNoUpdate) {
  int status = -1;
  std::string out = Update(FakeSysupdate("exit 0"), &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(Record()["result"], "no-update");
}

}  // namespace
}  // namespace gpuhost::testing
