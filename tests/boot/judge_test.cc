// What the ESP's names mean: one test per status of docs/updates.md, section 4.
#include <gtest/gtest.h>

#include "boot/boot_state.h"
#include "support/test_env.h"

namespace gpuhost::boot {
namespace {

constexpr const char* kId = "gpuhost-kvm-host";

BootFacts Facts(const std::string& running, const std::vector<std::string>& files) {
  BootFacts f;
  f.image_id = kId;
  f.running_version = running;
  f.esp = "/efi";
  for (const auto& file : files) {
    auto n = ParseUkiName(file, kId);
    EXPECT_TRUE(n) << file;
    if (n) f.ukis.push_back(*n);
  }
  return f;
}

TEST(JudgeTest, NewestAndBlessedIsBlessed) {
  BootState s = Judge(Facts("2", {"gpuhost-kvm-host_1.efi", "gpuhost-kvm-host_2.efi"}));
  EXPECT_EQ(s.status, "blessed");
  ASSERT_EQ(s.installed.size(), 2u);
  EXPECT_EQ(s.installed[0].version, "2");  // newest first
  EXPECT_EQ(s.installed[1].version, "1");
  EXPECT_FALSE(s.counted_boot);
  EXPECT_TRUE(s.rolled_back_from.empty());
}

// Versions sort as numbers: 10 is newer than 9, so 9 running with 10 used up
// is a rollback (a string comparison would call 9 the newest).
TEST(JudgeTest, UsedUpNewerVersionIsARollbackWithItsVerdict) {
  BootFacts f = Facts("9", {"gpuhost-kvm-host_9.efi", "gpuhost-kvm-host_10+0-3.efi"});
  f.verdicts.push_back({"10", "gpuhost-kvm-host_10+2-1.efi", "b1", "t1", false, "failed: first"});
  f.verdicts.push_back({"9", "", "b0", "t0", true, "ok"});
  f.verdicts.push_back({"10", "gpuhost-kvm-host_10+0-3.efi", "b3", "t3", false,
                        "failed: bind-vfio 0000:17:00.0 failed: still bound to nvidia"});
  BootState s = Judge(f);
  EXPECT_EQ(s.status, "rolled-back");
  EXPECT_EQ(s.rolled_back_from, "10");
  EXPECT_EQ(s.rollback_tries, 3);
  EXPECT_EQ(s.rollback_reason, "failed: bind-vfio 0000:17:00.0 failed: still bound to nvidia");
  EXPECT_EQ(s.summary,
            "rolled back from 10 to 9 after 3 tries: failed: bind-vfio 0000:17:00.0 failed: "
            "still bound to nvidia");
}

TEST(JudgeTest, RollbackWithoutVerdictSaysTheVersionNeverGotThatFar) {
  BootState s = Judge(Facts("2", {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3+0-1.efi"}));
  EXPECT_EQ(s.status, "rolled-back");
  EXPECT_EQ(s.rollback_tries, 1);
  EXPECT_NE(s.rollback_reason.find("never reached its health check"), std::string::npos)
      << s.rollback_reason;
  EXPECT_NE(s.summary.find("after 1 try:"), std::string::npos) << s.summary;
}

TEST(JudgeTest, CountedBootIsOnTrial) {
  BootFacts f = Facts("3", {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3+2-1.efi"});
  f.boot_count_path = "\\EFI\\Linux\\gpuhost-kvm-host_3+2-1.efi";
  BootState s = Judge(f);
  EXPECT_EQ(s.status, "on-trial");
  EXPECT_TRUE(s.counted_boot);
  EXPECT_NE(s.summary.find("(try 1 of 3)"), std::string::npos) << s.summary;
}

// Without the EFI variable (another loader, efivarfs not readable) the
// running version's own counter still tells.
TEST(JudgeTest, OwnCounterWithoutVariableIsOnTrial) {
  BootState s = Judge(Facts("3", {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3+1-2.efi"}));
  EXPECT_EQ(s.status, "on-trial");
  EXPECT_TRUE(s.counted_boot);
}

TEST(JudgeTest, InstalledNotBootedIsPending) {
  BootState s = Judge(Facts("2", {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3+3.efi"}));
  EXPECT_EQ(s.status, "update-pending");
  EXPECT_EQ(s.pending_version, "3");
  EXPECT_NE(s.summary.find("(3 tries)"), std::string::npos) << s.summary;
}

TEST(JudgeTest, OlderChosenWhileNewerIsGoodIsNotARollback) {
  BootState s = Judge(Facts("2", {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3.efi"}));
  EXPECT_EQ(s.status, "older-selected");
  EXPECT_TRUE(s.rolled_back_from.empty());
}

TEST(JudgeTest, NoImageAndNoEsp) {
  BootFacts none;
  EXPECT_EQ(Judge(none).status, "not-an-image");
  BootFacts pxe = Facts("2", {});
  pxe.esp.clear();
  BootState s = Judge(pxe);
  EXPECT_EQ(s.status, "no-esp");
  EXPECT_EQ(s.running_version, "2");
}

TEST(JudgeTest, UnversionedUkiNameIsSaid) {
  BootState s = Judge(Facts("2", {}));
  EXPECT_EQ(s.status, "blessed");
  EXPECT_NE(s.summary.find("before versioned names"), std::string::npos) << s.summary;
}

TEST(JudgeTest, JsonRoundTrip) {
  BootFacts f = Facts("9", {"gpuhost-kvm-host_9.efi", "gpuhost-kvm-host_10+0-3.efi"});
  f.boot_count_path = "";
  f.entry = "gpuhost-kvm-host_9.efi";
  BootState s = Judge(f);
  auto back = BootStateFromJson(ToJson(s));
  ASSERT_OK(back);
  EXPECT_EQ(ToJson(*back), ToJson(s));
  EXPECT_EQ(back->installed[1].state, UkiState::kGood);
  EXPECT_EQ(*back->installed[0].tries_left, 0);
  EXPECT_FALSE(back->installed[1].tries_left);
  auto j = ToJson(s);
  j["installed"][0]["state"] = "sideways";
  EXPECT_FALSE(BootStateFromJson(j).ok());
  j = ToJson(s);
  j.erase("status");
  EXPECT_FALSE(BootStateFromJson(j).ok());
}

}  // namespace
}  // namespace gpuhost::boot
