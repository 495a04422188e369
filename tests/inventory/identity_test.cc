// The machine's ids (inventory/identity_scan.h): read through the kernel's
// /sys/class/dmi/id link when there, absent without a word when not (the
// H200 capture is a Firecracker micro-VM: no SMBIOS), and carried in JSON.
#include <gtest/gtest.h>

#include <filesystem>

#include "inventory/identity_scan.h"
#include "inventory/inventory_test_util.h"
#include "inventory/json.h"
#include "plan/plan_fixtures.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

bool AnyWarningAbout(const inventory::Inventory& inv, const std::string& needle) {
  for (const auto& w : inv.warnings) {
    if (w.where.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(IdentityTest, ReadsMachineIdAndSmbiosThroughTheDmiLink) {
  TempDir root;
  BuildGpuServer(root.path());
  auto inv = CollectFromRoot(root.path());
  const auto& id = inv.system.identity;
  EXPECT_EQ(id.machine_id, "4f2a6d1c9e8b47a3b5c2d1e0f9a8b7c6");
  EXPECT_EQ(id.product_uuid, "4c4c4544-0051-3510-8052-b4c04f4d3732");
  EXPECT_EQ(id.product_serial, "SN \"17\"");  // the firmware's padding trimmed
}

TEST(IdentityTest, AbsentFilesAreEmptyAndWarnOfNothing) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  EXPECT_EQ(inv.system.identity.machine_id, "");
  EXPECT_EQ(inv.system.identity.product_uuid, "");
  EXPECT_EQ(inv.system.identity.product_serial, "");
  EXPECT_FALSE(AnyWarningAbout(inv, "dmi"));
  EXPECT_FALSE(AnyWarningAbout(inv, "machine-id"));
}

TEST(IdentityTest, AnUnreadableIdIsEmptyAndWarnsOfNothing) {
  TempDir root;
  SysfsBuilder b(root.path());
  b.SetIdentity("0123456789abcdef0123456789abcdef", "", "S1");
  // Root reads any file, so a directory stands in for the refused read of
  // an unprivileged container.
  std::filesystem::create_directories(root.path() + "/sys/devices/virtual/dmi/id/product_uuid");
  auto inv = CollectFromRoot(root.path());
  EXPECT_EQ(inv.system.identity.machine_id, "0123456789abcdef0123456789abcdef");
  EXPECT_EQ(inv.system.identity.product_uuid, "");
  EXPECT_EQ(inv.system.identity.product_serial, "S1");
  EXPECT_FALSE(AnyWarningAbout(inv, "dmi"));
}

TEST(IdentityTest, RoundTripsInJsonAndMayBeAbsent) {
  TempDir root;
  BuildGpuServer(root.path());
  auto inv = CollectFromRoot(root.path());
  nlohmann::json j = inventory::ToJson(inv);
  EXPECT_EQ(j["system"]["identity"]["product_uuid"], "4c4c4544-0051-3510-8052-b4c04f4d3732");
  auto back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->system.identity.product_serial, "SN \"17\"");
  // A state file from an agent before the ids still reads.
  j["system"].erase("identity");
  back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->system.identity.machine_id, "");
  j["system"]["identity"] = "not an object";
  EXPECT_FALSE(inventory::InventoryFromJson(j).ok());
}

}  // namespace
}  // namespace gpuhost::testing
