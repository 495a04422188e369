// The one inventory every command starts from: what stops a command (no PCI
// function readable at all) and what stays a warning inside it.
#include "run/load_inventory.h"

#include <gtest/gtest.h>

#include "plan/plan_fixtures.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::run {
namespace {

using testing::TempDir;

TEST(LoadInventoryTest, AFixtureTreeLoadsAndATreeHasKvmJudgedWithoutLibvirt) {
  TempDir root;
  testing::BuildGpuServer(root.path());
  RootFs fs(root.path());
  LoadedInventory loaded;
  ASSERT_TRUE(LoadInventory(fs, {}, &loaded).ok());
  EXPECT_FALSE(loaded.inv.functions.empty());
  EXPECT_FALSE(loaded.inv.virt.kvm_usable) << "kNone asks nothing about VMs";
  EXPECT_EQ(loaded.inv.virt.kvm_reason, "");
  for (LibvirtStep step : {LibvirtStep::kReadOnly, LibvirtStep::kForApply}) {
    LoadOptions o;
    o.libvirt = step;
    ASSERT_TRUE(LoadInventory(fs, o, &loaded).ok());
    // A --root tree has no VMs: KVM from the tree (VT-x, /dev/kvm), libvirt not asked.
    EXPECT_TRUE(loaded.inv.virt.kvm_usable || !loaded.inv.virt.kvm_reason.empty());
    EXPECT_FALSE(loaded.inv.virt.libvirt_connected);
    EXPECT_EQ(loaded.libvirt, nullptr);
    EXPECT_FALSE(loaded.libvirt_abandoned);
  }
}

TEST(LoadInventoryTest, AnEmptyOrMissingRootIsAnErrorNamingTheRootAndThePciBus) {
  TempDir dir;
  for (const std::string& root : {dir.path(), dir.path() + "/not-there"}) {
    RootFs fs(root);
    LoadOptions o;
    o.libvirt = LibvirtStep::kForApply;
    LoadedInventory loaded;
    Status s = LoadInventory(fs, o, &loaded);
    ASSERT_FALSE(s.ok()) << root;
    EXPECT_NE(s.message().find("cannot read /sys/bus/pci under " + root + ": "), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("/sys/bus/pci"), std::string::npos) << s.message();
    EXPECT_TRUE(loaded.inv.functions.empty());
    EXPECT_FALSE(loaded.inv.virt.kvm_usable || !loaded.inv.virt.kvm_reason.empty())
        << "no libvirt step after a failed inventory";
  }
}

TEST(LoadInventoryTest, ADumpLibpciCannotReadIsAnErrorNamingTheDump) {
  TempDir dir;
  RootFs fs(dir.path());
  LoadOptions o;
  o.pci.dump_file = dir.path() + "/no-such-dump.txt";
  LoadedInventory loaded;
  Status s = LoadInventory(fs, o, &loaded);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot read the PCI dump " + o.pci.dump_file), std::string::npos)
      << s.message();
}

TEST(LoadInventoryTest, OneDevicesGarbageOrAMissingProcFileStaysAWarning) {
  TempDir root;
  testing::SysfsBuilder b(root.path());
  b.Add(testing::RootPort("0000:00:01.0", 1));
  auto gpu = testing::Fn("0000:01:00.0", 0x10de, 0x26b9, 0x030000, "0000:00:01.0", "nvidia", 2);
  gpu.numa_node = "garbage";
  b.Add(gpu);
  b.Remove("/proc/cmdline");
  RootFs fs(root.path());
  LoadedInventory loaded;
  ASSERT_TRUE(LoadInventory(fs, {}, &loaded).ok());
  EXPECT_EQ(loaded.inv.functions.size(), 2u);
  bool device_warned = false, cmdline_warned = false;
  for (const auto& w : loaded.inv.warnings) {
    device_warned |= w.where == "0000:01:00.0";
    cmdline_warned |= w.where == "/proc/cmdline";
  }
  EXPECT_TRUE(device_warned) << "the garbage numa_node is a warning on its device";
  EXPECT_TRUE(cmdline_warned) << "a missing /proc file is a warning";
}

}  // namespace
}  // namespace gpuhost::run
