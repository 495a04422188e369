#include "boot/uki_name.h"

#include <gtest/gtest.h>

namespace gpuhost::boot {
namespace {

constexpr const char* kId = "gpuhost-kvm-host";

TEST(UkiNameTest, WithoutCounterIsGood) {
  auto n = ParseUkiName("gpuhost-kvm-host_2.efi", kId);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->version, "2");
  EXPECT_FALSE(n->tries_left);
  EXPECT_EQ(StateOf(*n), UkiState::kGood);
}

// The three steps systemd-boot takes with a +3 entry, and the end.
TEST(UkiNameTest, CounterStates) {
  auto fresh = ParseUkiName("gpuhost-kvm-host_3+3.efi", kId);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(*fresh->tries_left, 3);
  EXPECT_EQ(fresh->tries_done, 0);
  EXPECT_EQ(StateOf(*fresh), UkiState::kPending);

  auto second = ParseUkiName("gpuhost-kvm-host_3+1-2.efi", kId);
  ASSERT_TRUE(second);
  EXPECT_EQ(*second->tries_left, 1);
  EXPECT_EQ(second->tries_done, 2);
  EXPECT_EQ(StateOf(*second), UkiState::kTrying);

  auto used = ParseUkiName("gpuhost-kvm-host_3+0-3.efi", kId);
  ASSERT_TRUE(used);
  EXPECT_EQ(*used->tries_left, 0);
  EXPECT_EQ(used->tries_done, 3);
  EXPECT_EQ(StateOf(*used), UkiState::kBad);
  EXPECT_STREQ(UkiStateName(StateOf(*used)), "bad");

  // systemd-bless-boot bad, or a counter that started at 0.
  auto bad = ParseUkiName("gpuhost-kvm-host_3+0.efi", kId);
  ASSERT_TRUE(bad);
  EXPECT_EQ(StateOf(*bad), UkiState::kBad);
}

TEST(UkiNameTest, OtherImagesAndOtherFilesAreNotOurs) {
  EXPECT_FALSE(ParseUkiName("gpuhost-nvidia_3.efi", kId));
  // mkosi's default name (entry token, kernel, root hash): not a versioned UKI.
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host-6.12.118+deb13-amd64-0123abcd.efi", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_3.conf", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_.efi", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_3+x.efi", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_3+1-.efi", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_3/x.efi", kId));
  EXPECT_FALSE(ParseUkiName("gpuhost-kvm-host_3.efi", ""));
}

}  // namespace
}  // namespace gpuhost::boot
