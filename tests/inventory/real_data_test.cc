// Inventory against PCI data from real machines (../shared/hardware and
// tests/data/captures), each checked against lspci reading the same input.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <sstream>

#include "inventory/inventory_test_util.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using inventory::Gpu;
using inventory::Inventory;

// --- lspci dumps through libpci's dump method ---------------------------

class LspciDumpTest : public ::testing::TestWithParam<const char*> {};

TEST_P(LspciDumpTest, MatchesLspci) {
  std::string dump = HardwareDir() + "/lspci-dumps/" + GetParam();
  ASSERT_TRUE(std::filesystem::exists(dump)) << dump;
  Inventory inv = CollectFromDump(dump);
  EXPECT_EQ(inv.source, "dump:" + dump);
  ExpectMatchesLspci(inv, LspciIds("-F '" + dump + "'"));
}

INSTANTIATE_TEST_SUITE_P(Dumps, LspciDumpTest,
                         ::testing::Values("tree-asus-p6t6", "tree-fujitsu-p8010",
                                           "PCI-X-bridges-and-domains", "bridge-ctl-vga16"));

TEST(LspciDumpTest, GeForce210KeepsItsHdmiAudio) {
  Inventory inv = CollectFromDump(HardwareDir() + "/lspci-dumps/tree-asus-p6t6");
  ASSERT_EQ(inv.gpus.size(), 1u);
  const auto& g = inv.gpus[0];
  const auto* f = inv.Find(g.address);
  EXPECT_EQ(f->vendor_id, 0x10de);
  EXPECT_EQ(f->device_id, 0x0a65);
  EXPECT_EQ(g.kind, "vga");
  ASSERT_EQ(g.companions.size(), 1u);
  const auto* audio = inv.Find(g.companions[0]);
  EXPECT_EQ(audio->device_id, 0x0be3);
  EXPECT_EQ(audio->role, inventory::Role::kGpuCompanion);
}

TEST(LspciDumpTest, SeveralDomainsComeOutWithTheirDomain) {
  Inventory inv = CollectFromDump(HardwareDir() + "/lspci-dumps/PCI-X-bridges-and-domains");
  std::set<uint32_t> domains;
  for (const auto& f : inv.functions) domains.insert(f.address.domain);
  EXPECT_GT(domains.size(), 1u);
}

// --- hwloc's captured /sys trees ----------------------------------------

class HwlocTreeTest : public ::testing::Test {
 protected:
  std::string Extract(const std::string& tarball) {
    std::string path = HardwareDir() + "/sysfs/" + tarball;
    EXPECT_TRUE(std::filesystem::exists(path)) << path;
    RunCommand("tar -xjf '" + path + "' -C '" + dir_.path() + "'");
    for (const auto& e : std::filesystem::directory_iterator(dir_.path())) {
      return e.path().string();
    }
    ADD_FAILURE() << "empty tarball " << path;
    return dir_.path();
  }
  TempDir dir_;
};

TEST_F(HwlocTreeTest, TwoSocketServerWithBmcVga) {
  std::string root = Extract("40intel64-2g2n4c+pcilocality.tar.bz2");
  Inventory inv = CollectFromRoot(root);
  ExpectMatchesLspci(inv, LspciIds("-A linux-sysfs -O 'sysfs.path=" + root + "/sys/bus/pci'"));
  ASSERT_EQ(inv.gpus.size(), 1u);
  const auto* f = inv.Find(inv.gpus[0].address);
  EXPECT_EQ(f->vendor_id, 0x102b) << "Matrox BMC VGA";
  EXPECT_TRUE(inv.gpus[0].boot_vga);
  EXPECT_EQ(inv.system.cpu.vendor, "GenuineIntel");
  EXPECT_EQ(inv.system.cpu.virtualization, "vmx");
  EXPECT_EQ(inv.system.cpu.logical_cpus, 40);
  // numa_node reads -1 everywhere but one function: -1 means unknown.
  int with_node = 0;
  for (const auto& fn : inv.functions) with_node += fn.numa_node.has_value();
  EXPECT_EQ(with_node, 1);
}

TEST_F(HwlocTreeTest, ServerWith137FunctionsAndNvme) {
  std::string root = Extract("32em64t-2n8c+dax+nvme+mic+dimms.tar.bz2");
  Inventory inv = CollectFromRoot(root);
  ExpectMatchesLspci(inv, LspciIds("-A linux-sysfs -O 'sysfs.path=" + root + "/sys/bus/pci'"));
  EXPECT_EQ(inv.functions.size(), 137u);
  bool nvme = false;
  std::set<int> nodes;
  for (const auto& f : inv.functions) {
    nvme = nvme || f.class_id == 0x0108;
    if (f.numa_node) nodes.insert(*f.numa_node);
    if (f.parent) {
      EXPECT_NE(inv.Find(*f.parent), nullptr) << f.address.ToString();
    }
  }
  EXPECT_TRUE(nvme);
  EXPECT_EQ(nodes, (std::set<int>{0, 1}));
}

// --- umockdev recordings turned into sysfs trees -------------------------

Inventory FromRecording(const std::string& name, TempDir& dir) {
  int n = MaterializeUmockdev(HardwareDir() + "/umockdev/" + name + ".umockdev", dir.path());
  EXPECT_GT(n, 0);
  Inventory inv = CollectFromRoot(dir.path());
  ExpectMatchesLspci(inv,
                     LspciIds("-A linux-sysfs -O 'sysfs.path=" + dir.path() + "/sys/bus/pci'"));
  return inv;
}

TEST(UmockdevTest, DesktopWithNvidiaBootVgaAndIntelDisplayClass) {
  TempDir dir;
  Inventory inv = FromRecording("desktop-nvidia-intel", dir);
  ASSERT_EQ(inv.gpus.size(), 2u);
  int boot = 0;
  for (const auto& g : inv.gpus) {
    const auto* f = inv.Find(g.address);
    if (f->vendor_id == 0x8086) {
      EXPECT_EQ(g.kind, "display") << "Intel iGPU with class 0x0380";
      EXPECT_FALSE(g.boot_vga);
    } else {
      EXPECT_EQ(f->vendor_id, 0x10de);
      EXPECT_TRUE(g.boot_vga);
      EXPECT_EQ(f->driver.value_or(""), "nvidia");
    }
    boot += g.boot_vga;
  }
  EXPECT_EQ(boot, 1);
}

TEST(UmockdevTest, Gtx1060) {
  TempDir dir;
  Inventory inv = FromRecording("nvidia1060", dir);
  const Gpu* g = nullptr;
  for (const auto& x : inv.gpus) {
    if (inv.Find(x.address)->vendor_id == 0x10de) g = &x;
  }
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(inv.Find(g->address)->device_id, 0x1c60);
  EXPECT_TRUE(g->boot_vga);
  // The recording's path puts it behind root port 00:03.0.
  ASSERT_TRUE(inv.Find(g->address)->parent.has_value());
  EXPECT_EQ(inv.Find(g->address)->parent->ToString(), "0000:00:03.0");
}

TEST(UmockdevTest, OptimusLaptopWith3dControllerAndGroups) {
  TempDir dir;
  Inventory inv = FromRecording("optimus1050m", dir);
  const Gpu* three_d = nullptr;
  for (const auto& g : inv.gpus) {
    if (g.kind == "3d") three_d = &g;
  }
  ASSERT_NE(three_d, nullptr) << "GP107M is class 0x0302";
  EXPECT_FALSE(three_d->boot_vga);
  ASSERT_TRUE(three_d->iommu_group.has_value());
  // The recorded group holds the GPU and its root port (a bridge).
  bool found = false;
  for (const auto& grp : inv.iommu_groups) {
    if (grp.id != *three_d->iommu_group) continue;
    found = true;
    EXPECT_GE(grp.members.size(), 2u);
  }
  EXPECT_TRUE(found);
}

// --- captures made with `gpuhost-agent capture` on real machines ----------

TEST(CaptureFixtureTest, H200InFirecrackerVm) {
  std::string base = TestDataDir() + "/captures/h200-firecracker";
  Inventory inv = CollectFromRoot(base + "/tree");
  // lspci ran on the machine itself, and here over the captured tree.
  std::map<std::string, std::string> on_machine;
  {
    std::string cmd =
        "awk '{r=\"00\"; for(i=5;i<=NF;i++) if ($i ~ /^-r/) r=substr($i,3); "
        "gsub(/\"/,\"\"); print $1, $2, $3\":\"$4, r}' '" +
        base + "/lspci-mm.txt'";
    std::istringstream lines(RunCommand(cmd));
    std::string addr, cls, ids, rev;
    while (lines >> addr >> cls >> ids >> rev) on_machine[addr] = cls + " " + ids + " " + rev;
  }
  ExpectMatchesLspci(inv, on_machine);
  ExpectMatchesLspci(inv, LspciIds("-A linux-sysfs -O 'sysfs.path=" + base + "/tree/sys/bus/pci'"));
  ASSERT_EQ(inv.gpus.size(), 1u);
  const auto& g = inv.gpus[0];
  const auto* f = inv.Find(g.address);
  EXPECT_EQ(g.address.ToString(), "0000:00:06.0");
  EXPECT_EQ(g.kind, "3d");
  EXPECT_EQ(f->device_id, 0x2335);
  EXPECT_EQ(f->subsys_device_id.value_or(0), 0x18bf);
  EXPECT_EQ(f->driver.value_or(""), "nvidia");
  EXPECT_EQ(f->reset_methods, (std::vector<std::string>{"flr"}));
  EXPECT_FALSE(g.numa_node.has_value());
  EXPECT_FALSE(inv.system.iommu.enabled);
  EXPECT_TRUE(inv.system.kvm_device);
  EXPECT_EQ(inv.system.kernel_release, "6.18.44-fc-v657-gpu");
  // The VM's mounted disks and its routes' NIC are what the host needs.
  EXPECT_EQ(inv.CriticalWhy(*inventory::PciAddress::Parse("0000:00:01.0")),
            "/dev/vda mounted at /");
  EXPECT_EQ(inv.CriticalWhy(*inventory::PciAddress::Parse("0000:00:02.0")),
            "/dev/vdb mounted at /usr/local/nvidia");
  EXPECT_EQ(inv.CriticalWhy(*inventory::PciAddress::Parse("0000:00:03.0")),
            "default route via eth0");
  EXPECT_EQ(inv.CriticalWhy(g.address), "");
  // Captured before the agent read swaps and IPv6 routes: unknown, said so.
  ASSERT_EQ(inv.host_use_unknown.size(), 2u);
  EXPECT_EQ(inv.host_use_unknown[0].source, "/proc/swaps");
  EXPECT_EQ(inv.host_use_unknown[0].use_class, inventory::UseClass::kStorage);
  EXPECT_EQ(inv.host_use_unknown[1].source, "/proc/net/ipv6_route");
  EXPECT_EQ(inv.host_use_unknown[1].use_class, inventory::UseClass::kNetwork);
  ASSERT_EQ(inv.warnings.size(), 2u);
  EXPECT_EQ(inv.warnings[0].where, "/proc/swaps");
  EXPECT_EQ(inv.warnings[1].where, "/proc/net/ipv6_route");
}

}  // namespace
}  // namespace gpuhost::testing
