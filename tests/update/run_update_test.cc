// One recorded systemd-sysupdate run: what it installed is read from the
// ESP before and after; a reboot only follows an installed version.
#include "update/run_update.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace gpuhost::update {
namespace {

// Stands in for systemd-sysupdate (and systemctl): records each command and
// does to the tree what the real one would.
class FakeSysupdate : public CommandRunner {
 public:
  explicit FakeSysupdate(Fs& fs) : fs_(fs) {}
  Status Run(const std::vector<std::string>& argv, int /*timeout_ms*/) override {
    calls.push_back(argv);
    if (argv.back() == "update") {
      if (!installs.empty()) {
        EXPECT_TRUE(fs_.WriteAtomic("/efi/EFI/Linux/" + installs, "uki", 0644).ok());
      }
      return result;
    }
    return Status::Ok();
  }
  std::vector<std::vector<std::string>> calls;
  std::string installs;  // the UKI file the update writes, "" none
  Status result;

 private:
  Fs& fs_;
};

class RunUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(
        fs_.WriteAtomic("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=9\n", 0644)
            .ok());
    ASSERT_TRUE(fs_.WriteAtomic("/efi/EFI/Linux/gpuhost-kvm-host_9.efi", "uki", 0644).ok());
  }
  testing::TempDir dir_;
  RootFs fs_{dir_.path()};
  FakeSysupdate fake_{fs_};
};

TEST_F(RunUpdateTest, InstalledVersionIsRecordedAndRebootFollows) {
  fake_.installs = "gpuhost-kvm-host_10+3.efi";
  UpdateOptions o;
  o.reboot = true;
  boot::UpdateAttempt a = RunUpdate(fs_, fake_, o);
  EXPECT_EQ(a.result, "updated");
  EXPECT_EQ(a.from_version, "9");
  EXPECT_EQ(a.to_version, "10");  // numerically newer, not as a string
  EXPECT_TRUE(a.reboot_requested);
  ASSERT_EQ(fake_.calls.size(), 2u);
  EXPECT_EQ(fake_.calls[0],
            (std::vector<std::string>{"/usr/lib/systemd/systemd-sysupdate", "update"}));
  EXPECT_EQ(fake_.calls[1], (std::vector<std::string>{"/usr/bin/systemctl", "reboot"}));
  auto rec = boot::ReadUpdateAttempt(fs_, "/var/lib/gpuhost");
  ASSERT_OK(rec);
  ASSERT_TRUE(rec->has_value());
  EXPECT_EQ((*rec)->result, "updated");
  EXPECT_EQ((*rec)->to_version, "10");
  EXPECT_GE((*rec)->duration_s, 0.0);
}

TEST_F(RunUpdateTest, NothingNewIsNoUpdateAndNoReboot) {
  UpdateOptions o;
  o.reboot = true;
  boot::UpdateAttempt a = RunUpdate(fs_, fake_, o);
  EXPECT_EQ(a.result, "no-update");
  EXPECT_EQ(a.message, "nothing newer than 9 at the source");
  EXPECT_FALSE(a.reboot_requested);
  EXPECT_EQ(fake_.calls.size(), 1u);
}

TEST_F(RunUpdateTest, FailureIsRecordedWithWhy) {
  fake_.result = Status::Io("/usr/lib/systemd/systemd-sysupdate update: exit status 1");
  boot::UpdateAttempt a = RunUpdate(fs_, fake_, {});
  EXPECT_EQ(a.result, "failed");
  EXPECT_NE(a.message.find("exit status 1"), std::string::npos) << a.message;
  auto rec = boot::ReadUpdateAttempt(fs_, "/var/lib/gpuhost");
  ASSERT_OK(rec);
  EXPECT_EQ((*rec)->result, "failed");
}

TEST_F(RunUpdateTest, NoAttemptYetAndBadRecords) {
  auto none = boot::ReadUpdateAttempt(fs_, "/var/lib/gpuhost");
  ASSERT_OK(none);
  EXPECT_FALSE(none->has_value());
  ASSERT_TRUE(fs_.WriteAtomic("/var/lib/gpuhost/update.json",
                              "{\"started_at\":\"\",\"finished_at\":\"\",\"duration_s\":1,"
                              "\"from_version\":\"\",\"to_version\":\"\",\"result\":\"maybe\","
                              "\"message\":\"\",\"reboot_requested\":false}",
                              0644)
                  .ok());
  EXPECT_TRUE(boot::ReadUpdateAttempt(fs_, "/var/lib/gpuhost").status().IsInvalid());
}

}  // namespace
}  // namespace gpuhost::update
