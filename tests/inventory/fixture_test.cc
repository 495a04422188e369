// Inventory on fixture trees for what the real captures lack, and for
// garbage that real machines produce (powered-down functions, -1 NUMA
// nodes, five-digit domains, unreadable attributes).
#include <gtest/gtest.h>

#include <tuple>

#include "host/fs.h"
#include "inventory/inventory_test_util.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using inventory::Inventory;
using inventory::Role;

void ExpectLspciAgrees(const std::string& root, const Inventory& inv) {
  ExpectMatchesLspci(inv, LspciIds("-A linux-sysfs -O 'sysfs.path=" + root + "/sys/bus/pci'"));
}

TEST(FixtureTest, TwoIdenticalGpusStayTwoGpus) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.AddIommuUnit("dmar0", "DMAR");
  b.Add(RootPort("0000:00:01.0", 1));
  b.Add(RootPort("0000:00:03.0", 2));
  for (auto [gpu, port, group] : {std::tuple{"0000:01:00.0", "0000:00:01.0", 1},
                                  std::tuple{"0000:02:00.0", "0000:00:03.0", 2}}) {
    FakeFunction g = Fn(gpu, 0x10de, 0x2204, 0x030000, port, "nvidia", group);
    g.boot_vga = std::string(gpu) == "0000:01:00.0";
    b.Add(g);
    std::string audio = std::string(gpu).substr(0, 11) + "1";
    b.Add(Fn(audio, 0x10de, 0x1aef, 0x040300, port, "snd_hda_intel", group));
  }
  Inventory inv = CollectFromRoot(dir.path());
  ExpectLspciAgrees(dir.path(), inv);
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_TRUE(inv.gpus[0].boot_vga);
  EXPECT_FALSE(inv.gpus[1].boot_vga);
  ASSERT_EQ(inv.gpus[0].companions.size(), 1u);
  ASSERT_EQ(inv.gpus[1].companions.size(), 1u);
  EXPECT_EQ(inv.gpus[0].companions[0].ToString(), "0000:01:00.1");
  EXPECT_EQ(inv.gpus[1].companions[0].ToString(), "0000:02:00.1");
  EXPECT_NE(inv.gpus[0].iommu_group, inv.gpus[1].iommu_group);
  EXPECT_TRUE(inv.system.iommu.enabled);
  EXPECT_EQ(inv.system.iommu.firmware_table, "DMAR");
}

TEST(FixtureTest, GpuSharingItsGroupWithANic) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.AddIommuUnit("ivhd0", "IVRS");
  b.Add(RootPort("0000:00:01.0", 7));
  b.Add(Fn("0000:01:00.0", 0x1002, 0x744c, 0x030000, "0000:00:01.0", "amdgpu", 7));
  b.Add(Fn("0000:01:00.1", 0x1002, 0xab30, 0x040300, "0000:00:01.0", "snd_hda_intel", 7));
  b.Add(Fn("0000:00:01.1", 0x8086, 0x1533, 0x020000, "", "igb", 7));
  Inventory inv = CollectFromRoot(dir.path());
  ExpectLspciAgrees(dir.path(), inv);
  ASSERT_EQ(inv.iommu_groups.size(), 1u);
  EXPECT_EQ(inv.iommu_groups[0].id, 7);
  EXPECT_EQ(inv.iommu_groups[0].members.size(), 4u);
  EXPECT_EQ(inv.system.iommu.firmware_table, "IVRS");
  // The NIC is in the group but not a companion: it is another slot.
  ASSERT_EQ(inv.gpus.size(), 1u);
  EXPECT_EQ(inv.gpus[0].companions.size(), 1u);
  EXPECT_EQ(inv.Find(*inventory::PciAddress::Parse("0000:00:01.1"))->role, Role::kOther);
}

TEST(FixtureTest, TuringCardWithFourFunctions) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(RootPort("0000:00:01.0", 1));
  b.Add(Fn("0000:01:00.0", 0x10de, 0x1e87, 0x030000, "0000:00:01.0", "nvidia", 1));
  b.Add(Fn("0000:01:00.1", 0x10de, 0x10f8, 0x040300, "0000:00:01.0", "snd_hda_intel", 1));
  b.Add(Fn("0000:01:00.2", 0x10de, 0x1ad8, 0x0c0330, "0000:00:01.0", "xhci_hcd", 1));
  b.Add(Fn("0000:01:00.3", 0x10de, 0x1ad9, 0x0c8000, "0000:00:01.0", "nvidia-gpu", 1));
  Inventory inv = CollectFromRoot(dir.path());
  ExpectLspciAgrees(dir.path(), inv);
  ASSERT_EQ(inv.gpus.size(), 1u);
  std::vector<std::string> comp;
  for (const auto& c : inv.gpus[0].companions) comp.push_back(c.ToString());
  EXPECT_EQ(comp, (std::vector<std::string>{"0000:01:00.1", "0000:01:00.2", "0000:01:00.3"}));
  for (const auto& c : inv.gpus[0].companions) {
    EXPECT_EQ(inv.Find(c)->role, Role::kGpuCompanion);
    EXPECT_EQ(inv.Find(c)->parent->ToString(), "0000:00:01.0");
  }
}

TEST(FixtureTest, BmcVgaIsTheBootDeviceNotTheDatacenterGpus) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(RootPort("0000:00:1c.0", 3));
  FakeFunction aspeed = Fn("0000:03:00.0", 0x1a03, 0x2000, 0x030000, "0000:00:1c.0", "ast", 3);
  aspeed.boot_vga = 1;
  b.Add(aspeed);
  b.Add(RootPort("0000:40:01.0", 9));
  FakeFunction h100 = Fn("0000:41:00.0", 0x10de, 0x2330, 0x030200, "0000:40:01.0", "", 9);
  h100.numa_node = "1";
  h100.boot_vga = 0;
  h100.reset_method = "flr bus";
  b.Add(h100);
  FakeFunction nvswitch = Fn("0000:42:00.0", 0x10de, 0x22a3, 0x068000, "", "", 10);
  b.Add(nvswitch);
  Inventory inv = CollectFromRoot(dir.path());
  ExpectLspciAgrees(dir.path(), inv);
  ASSERT_EQ(inv.gpus.size(), 2u);
  EXPECT_TRUE(inv.gpus[0].boot_vga);
  EXPECT_EQ(inv.gpus[0].vendor_name.empty() ? "" : "named", "named");
  EXPECT_FALSE(inv.gpus[1].boot_vga);
  EXPECT_EQ(inv.gpus[1].kind, "3d");
  EXPECT_EQ(inv.gpus[1].numa_node, 1);
  EXPECT_EQ(inv.Find(inv.gpus[1].address)->reset_methods, (std::vector<std::string>{"flr", "bus"}));
  EXPECT_FALSE(inv.Find(inv.gpus[1].address)->driver.has_value());
  ASSERT_EQ(inv.nvswitches.size(), 1u);
  EXPECT_EQ(inv.nvswitches[0].ToString(), "0000:42:00.0");
  EXPECT_EQ(inv.Find(inv.nvswitches[0])->role, Role::kNvSwitch);
}

TEST(FixtureTest, FiveDigitDomainBehindVmd) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(Fn("0000:00:0e.0", 0x8086, 0x467f, 0x010400, "", "vmd", -1));
  b.Add(Fn("10000:e0:06.0", 0x8086, 0x464d, 0x060400, "", "pcieport", -1));
  b.Add(Fn("10000:e1:00.0", 0x144d, 0xa80a, 0x010802, "10000:e0:06.0", "nvme", -1));
  Inventory inv = CollectFromRoot(dir.path());
  ExpectLspciAgrees(dir.path(), inv);
  ASSERT_EQ(inv.functions.size(), 3u);
  EXPECT_EQ(inv.functions.back().address.ToString(), "10000:e1:00.0");
  EXPECT_EQ(inv.functions.back().address.domain, 0x10000u);
  EXPECT_EQ(inv.functions.back().parent->ToString(), "10000:e0:06.0");
}

TEST(FixtureTest, GarbageAttributesWarnOnThatDeviceOnly) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(RootPort("0000:00:01.0", 1));
  b.Add(Fn("0000:01:00.0", 0x10de, 0x2684, 0x030000, "0000:00:01.0", "nvidia", 1));
  FakeFunction audio = Fn("0000:01:00.1", 0, 0, 0, "0000:00:01.0", "", 1);
  audio.powered_down = true;
  b.Add(audio);
  FakeFunction nic = Fn("0000:02:00.0", 0x8086, 0x1533, 0x020000, "", "igb", 2);
  nic.numa_node = "garbage";
  b.Add(nic);
  FakeFunction odd = Fn("0000:03:00.0", 0x8086, 0x1533, 0x020000, "", "igb", 3);
  odd.boot_vga = 7;
  b.Add(odd);
  b.Write(b.DevicePath("0000:03:00.0") + "/revision", "zz\n");
  Inventory inv = CollectFromRoot(dir.path());
  ASSERT_EQ(inv.functions.size(), 5u);
  EXPECT_NE(WarningsFor(inv, "0000:01:00.1").find("ffff"), std::string::npos)
      << WarningsFor(inv, "0000:01:00.1");
  EXPECT_NE(WarningsFor(inv, "0000:02:00.0").find("numa_node"), std::string::npos);
  EXPECT_FALSE(inv.Find(*inventory::PciAddress::Parse("0000:02:00.0"))->numa_node.has_value());
  EXPECT_NE(WarningsFor(inv, "0000:03:00.0").find("boot_vga"), std::string::npos);
  EXPECT_EQ(WarningsFor(inv, "0000:01:00.0"), "") << "the GPU itself is fine";
  ASSERT_EQ(inv.gpus.size(), 1u);
}

TEST(FixtureTest, MissingMandatoryAttributeDoesNotLoseTheOthers) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(Fn("0000:00:02.0", 0x8086, 0x3e92, 0x030000, "", "i915", -1));
  b.Add(Fn("0000:00:1f.0", 0x8086, 0xa306, 0x060100, "", "", -1));
  b.Remove(b.DevicePath("0000:00:1f.0") + "/vendor");
  b.Remove(b.DevicePath("0000:00:1f.0") + "/device");
  Inventory inv = CollectFromRoot(dir.path());
  EXPECT_EQ(inv.functions.size(), 2u);
  EXPECT_EQ(inv.gpus.size(), 1u);
  EXPECT_NE(WarningsFor(inv, "0000:00:1f.0").find("vendor"), std::string::npos)
      << WarningsFor(inv, "0000:00:1f.0");
}

TEST(FixtureTest, EmptyRootGivesWarningsNotACrash) {
  TempDir dir;
  RootFs fs(dir.path());
  Inventory inv;
  Status s = inventory::Collect(fs, {}, &inv);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(inv.functions.empty());
  EXPECT_FALSE(inv.warnings.empty());
}

// The images' /boot is the ESP's automount: looking for GRUB there would
// mount it and wait (8 s under TCG at boot). Untriggered, it is not looked
// into; once something mounted it, it is.
TEST(FixtureTest, AnUntriggeredBootAutomountIsNotLookedInto) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Write("/boot/grub/grub.cfg", "menuentry {}\n");
  const std::string root = "21 1 0:30 / / rw,relatime - overlay overlay rw\n";
  const std::string autofs =
      "44 21 0:41 / /boot rw,relatime shared:7 - autofs systemd-1 rw,fd=42\n";
  b.Write("/proc/self/mountinfo", root + autofs);
  EXPECT_EQ(CollectFromRoot(dir.path()).system.bootloader, "");
  b.Write("/proc/self/mountinfo",
          root + autofs + "61 44 254:1 / /boot rw,relatime shared:31 - vfat /dev/vda1 rw\n");
  EXPECT_EQ(CollectFromRoot(dir.path()).system.bootloader, "grub");
  b.Write("/proc/self/mountinfo", root);
  EXPECT_EQ(CollectFromRoot(dir.path()).system.bootloader, "grub");
}

}  // namespace
}  // namespace gpuhost::testing
