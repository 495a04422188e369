#include "inventory/capture.h"

#include <gtest/gtest.h>

#include "host/fs.h"
#include "inventory/inventory_test_util.h"
#include "inventory/json.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

// Everything but "source" must survive capture -> replay.
nlohmann::json Comparable(const inventory::Inventory& inv) {
  nlohmann::json j = inventory::ToJson(inv);
  j.erase("source");
  return j;
}

TEST(CaptureTest, ReplayOfACaptureEqualsTheOriginal) {
  TempDir src_dir, out_dir;
  MaterializeUmockdev(HardwareDir() + "/umockdev/optimus1050m.umockdev", src_dir.path());
  SysfsBuilder extra(src_dir.path());  // adds /proc files
  extra.AddIommuUnit("dmar0", "DMAR");
  extra.Write("/dev/kvm", "");
  RootFs src(src_dir.path()), dst(out_dir.path());
  auto stats = inventory::Capture(src, dst);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_GT(stats->files, 20);
  EXPECT_GT(stats->links, 10);
  auto original = CollectFromRoot(src_dir.path());
  auto replay = CollectFromRoot(out_dir.path());
  EXPECT_FALSE(original.gpus.empty());
  EXPECT_FALSE(original.iommu_groups.empty());
  EXPECT_EQ(Comparable(replay), Comparable(original));
}

TEST(CaptureTest, SecondCaptureChangesNothing) {
  TempDir out_dir;
  RootFs src(TestDataDir() + "/captures/h200-firecracker/tree"), dst(out_dir.path());
  ASSERT_TRUE(inventory::Capture(src, dst).ok());
  std::string before =
      RunCommand("cd '" + out_dir.path() + "' && find . -printf '%p %i %T@\\n' | sort");
  ASSERT_TRUE(inventory::Capture(src, dst).ok());
  std::string after =
      RunCommand("cd '" + out_dir.path() + "' && find . -printf '%p %i %T@\\n' | sort");
  EXPECT_EQ(before, after);
}

TEST(CaptureTest, UnwritableDestinationIsAnError) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/blocker", "a file where a directory must go");
  RootFs src(TestDataDir() + "/captures/h200-firecracker/tree"), dst(dir.path() + "/blocker");
  auto stats = inventory::Capture(src, dst);
  ASSERT_FALSE(stats.ok());
  EXPECT_NE(stats.status().message().find("blocker"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
