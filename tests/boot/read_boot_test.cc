// The facts as read from a fixture tree through the Fs: os-release, the
// ESP, the EFI variables and the verdict file.
#include "boot/read_boot.h"

#include <gtest/gtest.h>

#include "boot/efivar.h"
#include "boot/os_release.h"
#include "support/test_env.h"

namespace gpuhost::boot {
namespace {

class ReadBootTest : public ::testing::Test {
 protected:
  void Write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(fs_.WriteAtomic(path, text, 0644).ok()) << path;
  }
  testing::TempDir dir_;
  RootFs fs_{dir_.path()};
};

TEST_F(ReadBootTest, OsReleaseValues) {
  std::string text =
      "# comment\nPRETTY_NAME=\"Debian GNU/Linux 13 (trixie)\"\nIMAGE_ID=gpuhost-kvm-host\n"
      "IMAGE_VERSION='20261201.054200'\nX=\"a \\\"quoted\\\" word\"\n";
  EXPECT_EQ(OsReleaseValue(text, "IMAGE_ID"), "gpuhost-kvm-host");
  EXPECT_EQ(OsReleaseValue(text, "IMAGE_VERSION"), "20261201.054200");
  EXPECT_EQ(OsReleaseValue(text, "PRETTY_NAME"), "Debian GNU/Linux 13 (trixie)");
  EXPECT_EQ(OsReleaseValue(text, "X"), "a \"quoted\" word");
  EXPECT_EQ(OsReleaseValue(text, "VERSION_ID"), "");
}

// /usr/lib/os-release (verified) wins over /etc's (the writable overlay).
TEST_F(ReadBootTest, UsrLibOsReleaseWins) {
  Write("/etc/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=99\n");
  auto os = ReadOsRelease(fs_);
  ASSERT_OK(os);
  EXPECT_EQ(os->image_version, "99");
  Write("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=2\n");
  os = ReadOsRelease(fs_);
  ASSERT_OK(os);
  EXPECT_EQ(os->path, "/usr/lib/os-release");
  EXPECT_EQ(os->image_version, "2");
}

TEST_F(ReadBootTest, RolledBackNodeFromTheTree) {
  Write("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=2\n");
  Write("/boot/EFI/Linux/gpuhost-kvm-host_2.efi", "uki");
  Write("/boot/EFI/Linux/gpuhost-kvm-host_3+0-1.efi", "uki");
  Write("/boot/EFI/Linux/gpuhost-nvidia_4.efi", "another image's");
  Write("/boot/EFI/Linux/README", "not a UKI");
  Write(LoaderVariablePath("LoaderEntrySelected"), EncodeUtf16Variable("gpuhost-kvm-host_2.efi"));
  Verdict v{"3",   "gpuhost-kvm-host_3+0-1.efi",  "boot-3", "2026-12-01T06:00:00Z",
            false, "failed: policy: cannot parse"};
  ASSERT_TRUE(AppendVerdict(fs_, "/var/lib/gpuhost", v).ok());
  BootFacts f = ReadBootFacts(fs_, "/var/lib/gpuhost");
  EXPECT_EQ(f.esp, "/boot");
  EXPECT_EQ(f.ukis.size(), 2u);
  EXPECT_EQ(f.entry, "gpuhost-kvm-host_2.efi");
  EXPECT_EQ(f.boot_count_path, "");
  BootState s = ReadBootState(fs_, "/var/lib/gpuhost");
  EXPECT_EQ(s.status, "rolled-back");
  EXPECT_EQ(s.rolled_back_from, "3");
  EXPECT_EQ(s.rollback_reason, "failed: policy: cannot parse");
}

TEST_F(ReadBootTest, EfiBeforeBootAndNoEsp) {
  Write("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=2\n");
  EXPECT_EQ(ReadBootState(fs_, "/var/lib/gpuhost").status, "no-esp");
  Write("/boot/efi/EFI/Linux/gpuhost-kvm-host_1.efi", "uki");
  Write("/efi/EFI/Linux/gpuhost-kvm-host_2.efi", "uki");
  BootFacts f = ReadBootFacts(fs_, "/var/lib/gpuhost");
  EXPECT_EQ(f.esp, "/efi");
  ASSERT_EQ(f.ukis.size(), 1u);
  EXPECT_EQ(f.ukis[0].version, "2");
}

TEST_F(ReadBootTest, VerdictsKeepTheNewestSixteen) {
  for (int i = 0; i < 20; ++i) {
    Verdict v{std::to_string(i), "", "b", "t", i % 2 == 0, "r" + std::to_string(i)};
    ASSERT_TRUE(AppendVerdict(fs_, "/var/lib/gpuhost", v).ok());
  }
  auto all = ReadVerdicts(fs_, "/var/lib/gpuhost");
  ASSERT_OK(all);
  ASSERT_EQ(all->size(), kVerdictsKept);
  EXPECT_EQ(all->front().version, "4");
  EXPECT_EQ(all->back().version, "19");
  EXPECT_EQ(LastRefusal(*all, "19")->reason, "r19");
  EXPECT_EQ(LastRefusal(*all, "18"), nullptr);  // blessed
  EXPECT_EQ(LastRefusal(*all, "1"), nullptr);   // dropped
}

TEST_F(ReadBootTest, BrokenVerdictFileIsReplacedNotAppendedTo) {
  Write("/var/lib/gpuhost/boot-assessment.json", "{not json");
  EXPECT_TRUE(ReadVerdicts(fs_, "/var/lib/gpuhost").status().IsInvalid());
  ASSERT_TRUE(AppendVerdict(fs_, "/var/lib/gpuhost", {"2", "", "b", "t", true, "ok"}).ok());
  auto all = ReadVerdicts(fs_, "/var/lib/gpuhost");
  ASSERT_OK(all);
  EXPECT_EQ(all->size(), 1u);
}

}  // namespace
}  // namespace gpuhost::boot
