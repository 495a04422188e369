// Storage and network the host uses never go to vfio-pci, and neither does
// anything in their IOMMU group: every mounted file system, swap, md/dm/LVM
// and multipath stack, the NIC of every route, nbd and iSCSI, serial consoles.
// When those facts cannot be read, no storage or network controller moves.
// Each case is a fixture tree: BuildGpuServer's AMD GPU (0000:31:00.0)
// shares IOMMU group 5 with the igb NIC 0000:00:03.1, and each test puts the
// host's use of something in that group.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include "inventory/inventory_test_util.h"
#include "plan/config_files.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

constexpr const char* kAmdGpu = "0000:31:00.0";
constexpr const char* kIgb = "0000:00:03.1";   // group 5, no route in BuildGpuServer
constexpr const char* kAhci = "0000:00:17.0";  // added to group 5 by tests

std::set<std::string> Bound(const plan::Plan& p) {
  std::set<std::string> v;
  for (const auto& a : p.actions) {
    if (a.Kind() == plan::ActionKind::kBindVfio) v.insert(a.Target());
  }
  return v;
}

std::string UdevRules(const plan::Plan& p) {
  for (const auto& a : p.actions) {
    if (a.Target() == plan::kUdevRules) return a.Value();
  }
  return "";
}

const plan::GpuDecision* DecisionFor(const plan::Plan& p, const std::string& gpu) {
  for (const auto& g : p.gpus) {
    if (g.gpu.ToString() == gpu) return &g;
  }
  return nullptr;
}

class HostUseTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildGpuServer(dir_.path()); }

  // A SATA controller in the AMD GPU's group 5, on the root bus.
  void AddAhciToGroup5() {
    SysfsBuilder b(dir_.path());
    b.Add(Fn(kAhci, 0x8086, 0xa352, 0x010601, "", "ahci", 5));
  }

  plan::Plan Plan() { return plan::MakePlan(CollectFromRoot(dir_.path()), plan::Policy()); }

  // The AMD GPU stays on the host, nothing of group 5 is bound or named in
  // the udev rule, the reason holds `why`, and there is a warning for it.
  void ExpectGroup5StaysOnTheHost(const plan::Plan& p, const std::string& why) {
    const plan::GpuDecision* d = DecisionFor(p, kAmdGpu);
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->assignment, plan::Assignment::kHost);
    EXPECT_NE(d->reason.find(why), std::string::npos) << d->reason;
    auto bound = Bound(p);
    std::string rules = UdevRules(p);
    for (const char* a : {kAmdGpu, "0000:31:00.1", kIgb, kAhci}) {
      EXPECT_EQ(bound.count(a), 0u) << a;
      EXPECT_EQ(rules.find(a), std::string::npos) << a << " in\n" << rules;
    }
    bool warned = false;
    for (const auto& w : p.warnings) {
      warned = warned || (w.where == kAmdGpu && w.message.find(why) != std::string::npos);
    }
    EXPECT_TRUE(warned) << why;
    // The other GPUs still go to VMs.
    EXPECT_EQ(bound.count("0000:17:00.0"), 1u);
    EXPECT_EQ(bound.count("0000:81:00.0"), 1u);
  }

  TempDir dir_;
};

TEST_F(HostUseTest, NothingInUseInGroup5LetsItGo) {
  AddAhciToGroup5();
  auto bound = Bound(Plan());
  EXPECT_EQ(bound.count(kAmdGpu), 1u);
  EXPECT_EQ(bound.count(kAhci), 1u);
  EXPECT_EQ(bound.count(kIgb), 1u);
}

// The qemu case: a conventional PCI bridge puts a display and a virtio disk
// in one group; the disk holds /var/lib/libvirt/images.
TEST_F(HostUseTest, DataDiskBehindAConventionalBridgeKeepsTheDisplayOnTheHost) {
  SysfsBuilder b(dir_.path());
  FakeFunction bridge = Fn("0000:00:1e.0", 0x1b36, 0x0001, 0x060400, "", "", 8);
  b.Add(bridge);
  b.Add(Fn("0000:05:01.0", 0x1234, 0x1111, 0x030000, "0000:00:1e.0", "bochs-drm", 8));
  b.Add(Fn("0000:05:02.0", 0x1af4, 0x1001, 0x010000, "0000:00:1e.0", "virtio-pci", 8));
  b.AddDisk("0000:05:02.0", "vda", "254:0");
  b.AddMount("254:0", "/var/lib/libvirt/images", "/dev/vda");
  plan::Plan p = Plan();
  const plan::GpuDecision* d = DecisionFor(p, "0000:05:01.0");
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->assignment, plan::Assignment::kHost);
  const std::string why =
      "IOMMU group 8 holds 0000:05:02.0 (virtio-pci), /dev/vda mounted at /var/lib/libvirt/images";
  EXPECT_NE(d->reason.find(why), std::string::npos) << d->reason;
  auto bound = Bound(p);
  EXPECT_EQ(bound.count("0000:05:01.0"), 0u);
  EXPECT_EQ(bound.count("0000:05:02.0"), 0u);
  EXPECT_EQ(UdevRules(p).find("0000:05:0"), std::string::npos) << UdevRules(p);
  bool warned = false;
  for (const auto& w : p.warnings) {
    warned = warned || (w.where == "0000:05:01.0" &&
                        w.message == "wanted on vfio but stays on the host: " + why);
  }
  EXPECT_TRUE(warned);
}

TEST_F(HostUseTest, MountedDataDiskInASharedGroup) {
  SysfsBuilder b(dir_.path());
  b.Add(Fn("0000:00:04.0", 0x144d, 0xa80a, 0x010802, "", "nvme", 5));
  b.AddDisk("0000:00:04.0", "nvme1n1", "259:4");
  b.AddPartition("nvme1n1", "nvme1n1p1", "259:5");
  b.AddMount("259:5", "/var/lib/libvirt/images", "/dev/nvme1n1p1", "xfs");
  ExpectGroup5StaysOnTheHost(
      Plan(), "holds 0000:00:04.0 (nvme), /dev/nvme1n1p1 mounted at /var/lib/libvirt/images");
}

TEST_F(HostUseTest, SwapPartition) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.AddDisk(kAhci, "sda", "8:0");
  b.AddPartition("sda", "sda2", "8:2");
  b.Write("/proc/swaps",
          "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
          "/dev/sda2                               partition\t8388604\t\t0\t\t-2\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:17.0 (ahci), /dev/sda2 used as swap");
}

TEST_F(HostUseTest, MdRaidMember) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.AddDisk(kAhci, "sda", "8:0");
  b.AddPartition("sda", "sda1", "8:1");
  b.AddDisk("0000:3d:00.0", "nvme0n2", "259:8");  // the other half, on the root disk's NVMe
  b.AddStack("md0", "9:0", {"sda1", "nvme0n2"});
  b.AddMount("9:0", "/srv", "/dev/md0");
  ExpectGroup5StaysOnTheHost(Plan(),
                             "holds 0000:00:17.0 (ahci), /dev/sda1 in md0, mounted at /srv");
}

// LVM on LUKS on a partition: dm-1 (the LV) holds dm-0 (the crypt device),
// which holds sda3. The chain is followed to the disk.
TEST_F(HostUseTest, DmStackFollowedThroughItsHolders) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.AddDisk(kAhci, "sda", "8:0");
  b.AddPartition("sda", "sda3", "8:3");
  b.AddStack("dm-0", "253:0", {"sda3"}, "sda3_crypt");
  b.AddStack("dm-1", "253:1", {"dm-0"}, "vg-var");
  b.AddMount("253:1", "/var", "/dev/mapper/vg-var");
  ExpectGroup5StaysOnTheHost(
      Plan(), "holds 0000:00:17.0 (ahci), /dev/sda3 in dm-1 (vg-var), mounted at /var");
}

// An active logical volume nobody mounted (a VM's disk): its disk is in use.
TEST_F(HostUseTest, ActiveDmDeviceThatIsNotMounted) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.AddDisk(kAhci, "sdb", "8:16");
  b.AddStack("dm-4", "253:4", {"sdb"}, "vg-vm1");
  ExpectGroup5StaysOnTheHost(Plan(),
                             "holds 0000:00:17.0 (ahci), /dev/sdb in dm-4 (vg-vm1), active");
}

// Two paths to one LUN through two HBAs: both stay.
TEST_F(HostUseTest, MultipathKeepsEveryPath) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.Add(RootPort("0000:00:1b.0", 9));
  b.Add(Fn("0000:4a:00.0", 0x1000, 0x0097, 0x010700, "0000:00:1b.0", "mpt3sas", 9));
  b.AddDisk(kAhci, "sdc", "8:32");
  b.AddDisk("0000:4a:00.0", "sdd", "8:48");
  b.AddStack("dm-2", "253:2", {"sdc", "sdd"}, "mpatha");
  b.AddMount("253:2", "/data", "/dev/mapper/mpatha", "xfs");
  auto inv = CollectFromRoot(dir_.path());
  EXPECT_EQ(inv.CriticalWhy(*inventory::PciAddress::Parse("0000:4a:00.0")),
            "/dev/sdd in dm-2 (mpatha), mounted at /data");
  ExpectGroup5StaysOnTheHost(
      Plan(), "holds 0000:00:17.0 (ahci), /dev/sdc in dm-2 (mpatha), mounted at /data");
}

TEST_F(HostUseTest, BtrfsMountedByItsAnonymousDeviceIsFoundByItsSource) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.AddDisk(kAhci, "sde", "8:64");
  b.AddMount("0:45", "/var/lib/libvirt/images", "/dev/sde", "btrfs");
  ExpectGroup5StaysOnTheHost(
      Plan(), "holds 0000:00:17.0 (ahci), /dev/sde mounted at /var/lib/libvirt/images");
}

// nbd: the NIC carrying it cannot be told from sysfs, so no NIC moves.
TEST_F(HostUseTest, ConnectedNbdKeepsEveryNic) {
  SysfsBuilder b(dir_.path());
  b.Write("/sys/devices/virtual/block/nbd0/pid", "812\n");
  b.Link("/sys/block/nbd0", "/sys/devices/virtual/block/nbd0");
  b.Link("/sys/class/block/nbd0", "/sys/devices/virtual/block/nbd0");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), a network controller");
}

TEST_F(HostUseTest, SoftwareIscsiSessionKeepsEveryNic) {
  SysfsBuilder b(dir_.path());
  b.Write("/sys/devices/platform/host3/session1/iscsi_session/session1/targetname",
          "iqn.2026-01.lab:store\n");
  b.Link("/sys/class/iscsi_session/session1",
         "/sys/devices/platform/host3/session1/iscsi_session/session1");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), a network controller");
}

TEST_F(HostUseTest, RouteViaASecondNicIpv4) {
  SysfsBuilder b(dir_.path());
  b.AddNic(kIgb, "eth1");
  b.Write("/proc/net/route",
          "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
          "eno1\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
          "eth1\t0000140A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), route to 10.20.0.0/16 via eth1");
}

TEST_F(HostUseTest, RouteViaASecondNicIpv6) {
  SysfsBuilder b(dir_.path());
  b.AddNic(kIgb, "eth1");
  b.Write("/proc/net/ipv6_route",
          "20010db8000100000000000000000000 40 00000000000000000000000000000000 00 "
          "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n");
  ExpectGroup5StaysOnTheHost(Plan(),
                             "holds 0000:00:03.1 (igb), IPv6 route to 2001:db8:1::/64 via eth1");
}

// An interface that is merely up has link-local and multicast routes; those
// do not make it the host's.
TEST_F(HostUseTest, LinkLocalAndMulticastRoutesDoNotHoldANic) {
  SysfsBuilder b(dir_.path());
  b.AddNic(kIgb, "eth1");
  b.Write("/proc/net/ipv6_route",
          "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
          "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n"
          "ff000000000000000000000000000000 08 00000000000000000000000000000000 00 "
          "00000000000000000000000000000000 00000100 00000001 00000000 00000001     eth1\n"
          "00000000000000000000000000000001 80 00000000000000000000000000000000 00 "
          "00000000000000000000000000000000 00000000 00000002 00000000 80200001       lo\n");
  EXPECT_EQ(Bound(Plan()).count(kIgb), 1u);
}

TEST_F(HostUseTest, RouteThroughABridgeHoldsItsPort) {
  SysfsBuilder b(dir_.path());
  b.AddNic(kIgb, "eth1");
  b.Write("/sys/devices/virtual/net/br0/type", "1\n");
  b.Link("/sys/class/net/br0", "/sys/devices/virtual/net/br0");
  b.Link("/sys/devices/virtual/net/br0/lower_eth1", b.DevicePath(kIgb) + "/net/eth1");
  b.Write("/proc/net/route",
          "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
          "br0\t0000A8C0\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), route to 192.168.0.0/16 via br0");
}

TEST_F(HostUseTest, SerialConsoleOnAPciUart) {
  SysfsBuilder b(dir_.path());
  b.Add(Fn("0000:00:16.3", 0x8086, 0xa3e3, 0x070002, "", "serial", 5));
  b.Write(b.DevicePath("0000:00:16.3") + "/tty/ttyS4/dev", "4:68\n");
  b.Link("/sys/class/tty/ttyS4", b.DevicePath("0000:00:16.3") + "/tty/ttyS4");
  b.Link(b.DevicePath("0000:00:16.3") + "/tty/ttyS4/device", b.DevicePath("0000:00:16.3"));
  b.Write("/sys/class/tty/console/active", "tty0 ttyS4\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:16.3 (serial), serial console ttyS4");
}

TEST_F(HostUseTest, UnreadableMountinfoKeepsEveryStorageController) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.Remove("/proc/self/mountinfo");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:17.0 (ahci), a storage controller");
}

TEST_F(HostUseTest, UnreadableSwapsKeepEveryStorageController) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.Remove("/proc/swaps");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:17.0 (ahci), a storage controller");
}

TEST_F(HostUseTest, ImportedZfsPoolKeepsEveryStorageController) {
  AddAhciToGroup5();
  SysfsBuilder b(dir_.path());
  b.Write("/proc/spl/kstat/zfs/tank/state", "ONLINE\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:17.0 (ahci), a storage controller");
}

TEST_F(HostUseTest, UnreadableRouteTableKeepsEveryNic) {
  SysfsBuilder b(dir_.path());
  b.Remove("/proc/net/route");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), a network controller");
}

TEST_F(HostUseTest, UnreadableIpv6RouteTableKeepsEveryNic) {
  SysfsBuilder b(dir_.path());
  b.Remove("/proc/net/ipv6_route");
  b.Write("/sys/module/ipv6/parameters/disable", "0\n");
  ExpectGroup5StaysOnTheHost(Plan(), "holds 0000:00:03.1 (igb), a network controller");
}

// No IPv6 in the kernel (ipv6.disable=1): no IPv6 routes, nothing unknown.
TEST_F(HostUseTest, KernelWithoutIpv6HasNoIpv6Routes) {
  SysfsBuilder b(dir_.path());
  b.Remove("/proc/net/ipv6_route");
  b.Write("/sys/module/ipv6/parameters/disable", "1\n");
  EXPECT_EQ(Bound(Plan()).count(kIgb), 1u);
}

}  // namespace
}  // namespace gpuhost::testing
