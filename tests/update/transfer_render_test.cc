// The node's copies of the image's transfers: only the URL and the tries
// change, every other line stays the image's (docs/updates.md, section 3).
#include "update/transfer_render.h"

#include <gtest/gtest.h>

#include "base/fileio.h"
#include "base/strings.h"
#include "fleet/update_source.h"
#include "host/fs.h"
#include "support/test_env.h"
#include "update/node_transfers.h"

namespace gpuhost::update {
namespace {

// The image's own transfers, as shipped.
std::string ImageTransfer(const std::string& name) {
  auto t = ReadFileAt(testing::TestDataDir() + "/../../overlays/base/usr/lib/sysupdate.d/" + name);
  EXPECT_TRUE(t.ok()) << name << ": " << t.status().ToString();
  return t.value_or("");
}

TEST(TransferRenderTest, UrlChecks) {
  auto ok = fleet::CheckUpdateUrl("https://updates.example.net/gpuhost");
  ASSERT_OK(ok);
  EXPECT_EQ(*ok, "https://updates.example.net/gpuhost/");
  ASSERT_OK(fleet::CheckUpdateUrl("http://10.0.2.2:8000/"));
  EXPECT_FALSE(fleet::CheckUpdateUrl("ftp://updates.example.net/").ok());
  EXPECT_FALSE(fleet::CheckUpdateUrl("https:///path").ok());
  EXPECT_FALSE(fleet::CheckUpdateUrl("https://").ok());
  EXPECT_FALSE(fleet::CheckUpdateUrl("https://a/b c").ok());
  EXPECT_FALSE(fleet::CheckUpdateUrl("https://a/\nPath=/etc").ok());
  EXPECT_FALSE(fleet::CheckUpdateUrl("https://a/\"x").ok());
}

TEST(TransferRenderTest, TriesChecks) {
  ASSERT_OK(fleet::CheckUpdateTries("1\n"));
  EXPECT_EQ(*fleet::CheckUpdateTries("3"), 3);
  EXPECT_FALSE(fleet::CheckUpdateTries("0").ok());
  EXPECT_FALSE(fleet::CheckUpdateTries("10").ok());
  EXPECT_FALSE(fleet::CheckUpdateTries("three").ok());
}

TEST(TransferRenderTest, OnlyTheSourcePathAndTheTriesChange) {
  std::string image = ImageTransfer("90-uki.transfer");
  auto out = RenderTransfer(image, {"http://10.0.2.2:8000/", 1});
  ASSERT_OK(out);
  EXPECT_NE(out->find("\nPath=http://10.0.2.2:8000/\n"), std::string::npos) << *out;
  EXPECT_EQ(out->find("gpuhost-updates.invalid"), std::string::npos);
  EXPECT_NE(out->find("\nTriesLeft=1\n"), std::string::npos);
  // The target's Path= (the ESP's directory) is not the source's.
  EXPECT_NE(out->find("\nPath=/EFI/Linux\n"), std::string::npos);
  // Nothing else moved: the same lines but two.
  auto a = Split(image, '\n');
  auto b = Split(*out, '\n');
  ASSERT_EQ(a.size(), b.size());
  int changed = 0;
  for (size_t i = 0; i < a.size(); ++i) changed += a[i] != b[i];
  EXPECT_EQ(changed, 2);
  // Without tries, the image's count stays.
  auto three = RenderTransfer(image, {"https://u.example/", std::nullopt});
  ASSERT_OK(three);
  EXPECT_NE(three->find("\nTriesLeft=3\n"), std::string::npos);
}

TEST(TransferRenderTest, NoSourcePathIsRefused) {
  EXPECT_FALSE(RenderTransfer("[Target]\nPath=auto\n", {"https://u.example/", 1}).ok());
}

TEST(TransferRenderTest, WritesEveryImageTransferToRun) {
  testing::TempDir dir;
  RootFs fs(dir.path());
  EXPECT_TRUE(WriteNodeTransfers(fs, {"https://u.example/", 2}).status().IsNotFound());
  for (const char* name : {"10-root.transfer", "11-root-verity.transfer",
                           "12-root-verity-sig.transfer", "90-uki.transfer"}) {
    ASSERT_TRUE(
        fs.WriteAtomic(std::string(kImageTransferDir) + "/" + name, ImageTransfer(name), 0644)
            .ok());
  }
  ASSERT_TRUE(fs.WriteAtomic(std::string(kImageTransferDir) + "/README", "not one", 0644).ok());
  auto written = WriteNodeTransfers(fs, {"https://u.example/", 2});
  ASSERT_OK(written);
  EXPECT_EQ(*written, (std::vector<std::string>{"10-root.transfer", "11-root-verity.transfer",
                                                "12-root-verity-sig.transfer", "90-uki.transfer"}));
  auto root = fs.Read("/run/sysupdate.d/10-root.transfer");
  ASSERT_OK(root);
  EXPECT_NE(root->find("\nPath=https://u.example/\n"), std::string::npos);
  EXPECT_NE(root->find("\nMatchPartitionType=root\n"), std::string::npos);
  EXPECT_FALSE(fs.Exists("/run/sysupdate.d/README"));
}

// A transfer that cannot be rendered leaves no copies at all: a root
// without its UKI would be half an update.
TEST(TransferRenderTest, OneBadTransferWritesNone) {
  testing::TempDir dir;
  RootFs fs(dir.path());
  ASSERT_TRUE(fs.WriteAtomic("/usr/lib/sysupdate.d/10-root.transfer",
                             ImageTransfer("10-root.transfer"), 0644)
                  .ok());
  ASSERT_TRUE(
      fs.WriteAtomic("/usr/lib/sysupdate.d/20-broken.transfer", "[Target]\nType=partition\n", 0644)
          .ok());
  EXPECT_TRUE(WriteNodeTransfers(fs, {"https://u.example/", 2}).status().IsInvalid());
  EXPECT_FALSE(fs.Exists("/run/sysupdate.d/10-root.transfer"));
}

}  // namespace
}  // namespace gpuhost::update
