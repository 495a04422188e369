#include "boot/efivar.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace gpuhost::boot {
namespace {

TEST(EfivarTest, RoundTrip) {
  auto v = DecodeUtf16Variable(EncodeUtf16Variable("\\EFI\\Linux\\gpuhost-kvm-host_3+2-1.efi"));
  ASSERT_OK(v);
  EXPECT_EQ(*v, "\\EFI\\Linux\\gpuhost-kvm-host_3+2-1.efi");
}

TEST(EfivarTest, BadBytesAreRefusedOrMasked) {
  EXPECT_FALSE(DecodeUtf16Variable("\x07\x00").ok());  // no room for attributes
  EXPECT_FALSE(DecodeUtf16Variable(std::string("\x07\x00\x00\x00"
                                               "a",
                                               5))
                   .ok());  // odd
  // A character beyond ASCII (U+00E9) is shown as '?'.
  auto v =
      DecodeUtf16Variable(std::string("\x07\x00\x00\x00"
                                      "a\x00\xe9\x00",
                                      8));
  ASSERT_OK(v);
  EXPECT_EQ(*v, "a?");
}

TEST(EfivarTest, ReadsThroughTheFs) {
  testing::TempDir dir;
  RootFs fs(dir.path());
  EXPECT_TRUE(ReadLoaderVariable(fs, "LoaderBootCountPath").status().IsNotFound());
  ASSERT_TRUE(fs.WriteAtomic(LoaderVariablePath("LoaderEntrySelected"),
                             EncodeUtf16Variable("gpuhost-kvm-host_2.efi"), 0644)
                  .ok());
  auto v = ReadLoaderVariable(fs, "LoaderEntrySelected");
  ASSERT_OK(v);
  EXPECT_EQ(*v, "gpuhost-kvm-host_2.efi");
  EXPECT_EQ(LoaderVariablePath("LoaderEntrySelected"),
            "/sys/firmware/efi/efivars/LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f");
}

}  // namespace
}  // namespace gpuhost::boot
