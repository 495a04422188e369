#include "inventory/capture.h"

#include <gtest/gtest.h>

#include "base/fileio.h"
#include "host/fs.h"
#include "inventory/inventory_test_util.h"
#include "inventory/json.h"
#include "plan/plan_fixtures.h"
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

// What the host uses (mounts through md, swap, routes through a bridge,
// nbd, iSCSI, a serial console) reads the same from a capture.
TEST(CaptureTest, HostUseFactsSurviveCapture) {
  TempDir src_dir, out_dir;
  BuildGpuServer(src_dir.path());
  SysfsBuilder b(src_dir.path());
  b.Add(Fn("0000:00:17.0", 0x8086, 0xa352, 0x010601, "", "ahci", 5));
  b.AddDisk("0000:00:17.0", "sda", "8:0");
  b.AddPartition("sda", "sda1", "8:1");
  b.AddPartition("sda", "sda2", "8:2");
  b.AddStack("md0", "9:0", {"sda1"});
  b.AddMount("9:0", "/srv", "/dev/md0");
  b.Write("/proc/swaps", "Filename Type Size Used Priority\n/dev/sda2 partition 8 0 -2\n");
  b.AddNic("0000:00:03.1", "eth1");
  b.Link("/sys/class/net/br0", "/sys/devices/virtual/net/br0");
  b.Link("/sys/devices/virtual/net/br0/lower_eth1", b.DevicePath("0000:00:03.1") + "/net/eth1");
  b.Write("/proc/net/ipv6_route",
          "20010db8000100000000000000000000 40 00000000000000000000000000000000 00 "
          "00000000000000000000000000000000 00000100 00000001 00000000 00000001      br0\n");
  b.Write("/sys/devices/virtual/block/nbd0/pid", "812\n");
  b.Link("/sys/class/block/nbd0", "/sys/devices/virtual/block/nbd0");
  b.Write("/sys/devices/platform/host3/session1/targetname", "iqn.2026-01.lab:store\n");
  b.Link("/sys/class/iscsi_session/session1", "/sys/devices/platform/host3/session1");
  b.Add(Fn("0000:00:16.3", 0x8086, 0xa3e3, 0x070002, "", "serial", 10));
  b.Link("/sys/class/tty/ttyS4", b.DevicePath("0000:00:16.3") + "/tty/ttyS4");
  b.Write("/sys/class/tty/console/active", "tty0 ttyS4\n");
  RootFs src(src_dir.path()), dst(out_dir.path());
  auto stats = inventory::Capture(src, dst);
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  auto original = CollectFromRoot(src_dir.path());
  auto replay = CollectFromRoot(out_dir.path());
  EXPECT_EQ(original.CriticalWhy(*inventory::PciAddress::Parse("0000:00:17.0")),
            "/dev/sda1 in md0, mounted at /srv; /dev/sda2 used as swap");
  EXPECT_EQ(original.CriticalWhy(*inventory::PciAddress::Parse("0000:00:03.1")),
            "IPv6 route to 2001:db8:1::/64 via br0");
  EXPECT_EQ(original.CriticalWhy(*inventory::PciAddress::Parse("0000:00:16.3")),
            "serial console ttyS4");
  ASSERT_EQ(original.host_use_unknown.size(), 2u);  // nbd0, session1
  EXPECT_EQ(Comparable(replay)["critical"], Comparable(original)["critical"]);
  EXPECT_EQ(Comparable(replay)["host_use_unknown"], Comparable(original)["host_use_unknown"]);
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

// A capture goes into bug reports: /proc/cmdline comes with its secrets'
// values hidden and every kernel switch as it was.
TEST(CaptureTest, CmdlineSecretsStayOnTheMachine) {
  TempDir src_dir, out_dir;
  BuildGpuServer(src_dir.path());
  SysfsBuilder(src_dir.path())
      .Write("/proc/cmdline",
             "root=/dev/sda1 intel_iommu=on systemd.set_credential=gpuhost.token:s3cr3t "
             "foo.password=hunter2\n");
  RootFs src(src_dir.path()), dst(out_dir.path());
  ASSERT_TRUE(inventory::Capture(src, dst).ok());
  EXPECT_EQ(*ReadFileAt(out_dir.path() + "/proc/cmdline"),
            "root=/dev/sda1 intel_iommu=on systemd.set_credential=gpuhost.token:<redacted> "
            "foo.password=<redacted>\n");
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
