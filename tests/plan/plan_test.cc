#include "plan/plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "inventory/inventory_test_util.h"
#include "plan/config_files.h"
#include "plan/decide.h"
#include "plan/json.h"
#include "plan/plan_fixtures.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using plan::Assignment;
using plan::Policy;

Policy MustParse(const std::string& text) {
  auto p = plan::ParsePolicy(text, "test policy");
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : Policy();
}

std::map<std::string, std::string> Assignments(const plan::Plan& p) {
  std::map<std::string, std::string> m;
  for (const auto& g : p.gpus) m[g.gpu.ToString()] = plan::AssignmentName(g.assignment);
  return m;
}

std::vector<std::string> Bound(const plan::Plan& p) {
  std::vector<std::string> v;
  for (const auto& a : p.actions) {
    if (a.Kind() == plan::ActionKind::kBindVfio) v.push_back(a.Target());
  }
  return v;
}

const plan::GpuDecision& DecisionFor(const plan::Plan& p, const std::string& gpu) {
  for (const auto& g : p.gpus) {
    if (g.gpu.ToString() == gpu) return g;
  }
  static plan::GpuDecision none;
  ADD_FAILURE() << "no decision for " << gpu;
  return none;
}

class PlanTest : public ::testing::Test {
 protected:
  void SetUp() override { BuildGpuServer(dir_.path()); }
  inventory::Inventory Inv() { return CollectFromRoot(dir_.path()); }
  TempDir dir_;
};

TEST_F(PlanTest, DefaultsKeepTheBootVgaAndPassTheRest) {
  auto inv = Inv();
  plan::Plan p = plan::MakePlan(inv, Policy());
  EXPECT_EQ(Assignments(p), (std::map<std::string, std::string>{{"0000:03:00.0", "host"},
                                                                {"0000:17:00.0", "vfio"},
                                                                {"0000:21:00.0", "vfio"},
                                                                {"0000:31:00.0", "vfio"},
                                                                {"0000:81:00.0", "vfio"}}));
  // Companions follow their GPU; the NIC sharing group 5 goes with the AMD GPU.
  EXPECT_EQ(Bound(p), (std::vector<std::string>{"0000:17:00.0", "0000:17:00.1", "0000:21:00.0",
                                                "0000:21:00.1", "0000:21:00.2", "0000:21:00.3",
                                                "0000:31:00.0", "0000:31:00.1", "0000:00:03.1",
                                                "0000:81:00.0", "0000:81:00.1"}));
  for (const auto& a : p.actions) {
    if (a.Target() == "0000:00:03.1") {
      EXPECT_NE(a.reason.find("shares IOMMU group 5"), std::string::npos);
    }
  }
  EXPECT_EQ(DecisionFor(p, "0000:03:00.0").reason,
            "the boot VGA GPU stays on the host for the console");
  EXPECT_TRUE(DecisionFor(p, "0000:17:00.0").one_start_per_boot) << "no reset_method file";
  EXPECT_FALSE(DecisionFor(p, "0000:81:00.0").one_start_per_boot);
  EXPECT_EQ(p.kernel_params, (std::vector<std::string>{"intel_iommu=on", "iommu=pt"}));
}

TEST_F(PlanTest, IdenticalGpusAreChosenByAddressNotModel) {
  Policy pol = MustParse(R"({"gpus": [
      {"match": {"address": "0000:17:00.0"}, "assign": "host"},
      {"match": {"vendor_device": "10de:26b9"}, "assign": "vfio"}]})");
  plan::Plan p = plan::MakePlan(Inv(), pol);
  EXPECT_EQ(DecisionFor(p, "0000:17:00.0").assignment, Assignment::kHost);
  EXPECT_EQ(DecisionFor(p, "0000:17:00.0").rule, "policy gpus[0]");
  EXPECT_EQ(DecisionFor(p, "0000:81:00.0").assignment, Assignment::kVfio);
  // Host NVIDIA GPU: driver after the binds, and an Xorg file for it alone.
  auto bound = Bound(p);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:17:00.0"), 0);
  size_t last_bind = 0, nvidia = 0;
  for (size_t i = 0; i < p.actions.size(); ++i) {
    if (p.actions[i].Kind() == plan::ActionKind::kBindVfio) last_bind = i;
    if (p.actions[i].Kind() == plan::ActionKind::kLoadModule && p.actions[i].Target() == "nvidia")
      nvidia = i;
    if (p.actions[i].Target() == plan::kXorgConf) {
      EXPECT_NE(p.actions[i].Value().find("BusID \"PCI:23:0:0\""), std::string::npos)
          << p.actions[i].Value();
      EXPECT_EQ(p.actions[i].Value().find("PCI:129:0:0"), std::string::npos);
    }
    if (p.actions[i].Target() == plan::kUdevRules) {
      EXPECT_NE(p.actions[i].Value().find("KERNEL==\"0000:81:00.0\""), std::string::npos);
      EXPECT_EQ(p.actions[i].Value().find("0000:17:00.0"), std::string::npos);
    }
  }
  EXPECT_GT(nvidia, last_bind);
}

TEST_F(PlanTest, GroupWithTheManagementNicIsRefused) {
  SysfsBuilder b(dir_.path());
  b.SetDefaultRoute("0000:00:03.1", "eth1");  // the igb NIC in the AMD GPU's group
  plan::Plan p = plan::MakePlan(Inv(), Policy());
  const auto& d = DecisionFor(p, "0000:31:00.0");
  EXPECT_EQ(d.assignment, Assignment::kHost);
  EXPECT_NE(d.reason.find("IOMMU group 5 holds 0000:00:03.1 (igb), default route via eth1"),
            std::string::npos)
      << d.reason;
  auto bound = Bound(p);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:00:03.1"), 0);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:31:00.0"), 0);
  bool warned = false;
  for (const auto& w : p.warnings) warned = warned || w.where == "0000:31:00.0";
  EXPECT_TRUE(warned);
}

TEST_F(PlanTest, BootVgaForcedToVfioIsRefusedForTheConsole) {
  plan::Plan p = plan::MakePlan(Inv(), MustParse(R"({"gpus": [{"match": {}, "assign": "vfio"}]})"));
  const auto& d = DecisionFor(p, "0000:03:00.0");
  EXPECT_EQ(d.assignment, Assignment::kHost);
  EXPECT_NE(d.reason.find("boot console"), std::string::npos) << d.reason;
}

TEST_F(PlanTest, HostGpuInTheGroupKeepsTheOtherOnTheHost) {
  // Put the Turing card's audio function on the host: the group cannot split.
  plan::Plan p = plan::MakePlan(
      Inv(), MustParse(R"({"gpus": [{"match": {"address": "0000:21:00.0"}, "assign": "host"}]})"));
  EXPECT_EQ(DecisionFor(p, "0000:21:00.0").assignment, Assignment::kHost);
  auto bound = Bound(p);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:21:00.1"), 0);
}

TEST(PlanNoIommuTest, IommuOffKeepsGpusOnTheHostWithAReason) {
  TempDir dir;
  SysfsBuilder b(dir.path());
  b.Add(Fn("0000:00:02.0", 0x8086, 0x3e92, 0x030000, "", "i915", -1));
  FakeFunction f = Fn("0000:01:00.0", 0x10de, 0x2204, 0x030000, "", "nvidia", -1);
  b.Add(f);
  auto inv = CollectFromRoot(dir.path());
  plan::Plan p = plan::MakePlan(inv, Policy());
  const auto& d = DecisionFor(p, "0000:01:00.0");
  EXPECT_EQ(d.assignment, Assignment::kHost);
  EXPECT_NE(d.reason.find("IOMMU is off"), std::string::npos) << d.reason;
  EXPECT_TRUE(Bound(p).empty());
}

TEST(PlanParamsTest, IommuParameterFollowsTheFirmwareTableNotTheCpu) {
  inventory::Inventory inv;
  inv.system.cpu.vendor = "AuthenticAMD";  // qemu -cpu max next to intel-iommu
  inv.system.iommu.firmware_table = "DMAR";
  EXPECT_EQ(plan::WantedKernelParams(inv, Policy())[0], "intel_iommu=on");
  inv.system.iommu.firmware_table = "IVRS";
  inv.system.cpu.vendor = "GenuineIntel";
  auto params = plan::WantedKernelParams(inv, Policy());
  EXPECT_EQ(params, (std::vector<std::string>{"iommu=pt"}));
  for (const auto& p : params) EXPECT_EQ(p.find("amd_iommu"), std::string::npos);
  Policy strict = MustParse(R"({"hardening": "strict", "hugepages": {"size": "1G", "count": 8},
                                "kernel_params": ["pcie_aspm=off"]})");
  EXPECT_EQ(plan::WantedKernelParams(inv, strict),
            (std::vector<std::string>{"hugepagesz=1G", "hugepages=8", "pcie_aspm=off"}));
}

TEST(PlanParamsTest, MissingParametersOnGrubMeanBootloaderUpdateAndReboot) {
  inventory::Inventory inv;
  inv.system.iommu.firmware_table = "DMAR";
  inv.system.cmdline = "BOOT_IMAGE=/vmlinuz root=UUID=x ro iommu=pt";
  inv.system.bootloader = "grub";
  plan::Plan p = plan::MakePlan(inv, Policy());
  std::vector<std::string> kinds;
  for (const auto& a : p.actions) {
    if (a.Kind() == plan::ActionKind::kUpdateBootloader ||
        a.Kind() == plan::ActionKind::kRequestReboot || a.Target() == plan::kGrubConf) {
      kinds.push_back(plan::ActionKindName(a.Kind()));
    }
    if (a.Kind() == plan::ActionKind::kRequestReboot) {
      EXPECT_EQ(a.Target(), "intel_iommu=on");
    }
    if (a.Target() == plan::kGrubConf) {
      EXPECT_NE(
          a.Value().find(
              "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT intel_iommu=on iommu=pt\""),
          std::string::npos);
    }
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"write-file", "update-bootloader", "request-reboot"}));
  // All present: no reboot.
  inv.system.cmdline += " intel_iommu=on";
  for (const auto& a : plan::MakePlan(inv, Policy()).actions) {
    EXPECT_NE(a.Kind(), plan::ActionKind::kRequestReboot);
  }
}

TEST(XorgTest, BusIdIsDecimalWithDomainOnlyWhenNonZero) {
  EXPECT_EQ(plan::XorgBusId(*inventory::PciAddress::Parse("0000:65:00.0")), "PCI:101:0:0");
  EXPECT_EQ(plan::XorgBusId(*inventory::PciAddress::Parse("0002:1a:1f.3")), "PCI:26@2:31:3");
}

// Generated machines (after re2's cross-checking against a simple model):
// whatever the layout, the plan keeps groups whole, never binds a critical
// device, and is the same every time.
TEST(PlanPropertyTest, GroupsStayWholeAndPlansAreDeterministic) {
  uint32_t seed = 12345;
  auto rnd = [&seed](uint32_t n) {
    seed = seed * 1103515245u + 12345u;
    return (seed >> 16) % n;
  };
  for (int machine = 0; machine < 200; ++machine) {
    inventory::Inventory inv;
    inv.system.iommu.enabled = true;
    inv.system.iommu.firmware_table = "DMAR";
    int groups = 1 + static_cast<int>(rnd(5));
    for (int g = 0; g < groups; ++g) inv.iommu_groups.push_back({g, "DMA", {}});
    int n = 2 + static_cast<int>(rnd(8));
    for (int i = 0; i < n; ++i) {
      inventory::PciFunction f;
      f.address = {0, static_cast<uint8_t>(1 + rnd(4)), static_cast<uint8_t>(rnd(2)),
                   static_cast<uint8_t>(rnd(3))};
      if (inv.Find(f.address)) continue;
      uint32_t kind = rnd(4);
      f.class_id = kind == 0 ? 0x0300 : kind == 1 ? 0x0403 : kind == 2 ? 0x0604 : 0x0200;
      f.role = kind == 0   ? inventory::Role::kGpu
               : kind == 2 ? inventory::Role::kBridge
                           : inventory::Role::kOther;
      f.vendor_id = 0x10de;
      f.boot_vga = kind == 0 && rnd(4) == 0;
      f.reset_methods = {"flr"};
      f.iommu_group = static_cast<int>(rnd(static_cast<uint32_t>(groups)));
      inv.iommu_groups[*f.iommu_group].members.push_back(f.address);
      if (kind == 3 && rnd(3) == 0) inv.critical.push_back({f.address, "default route via eth0"});
      inv.functions.push_back(f);
    }
    // Sometimes the host's use of NICs is unknown: then no NIC (class 02xx) moves.
    const bool nics_unknown = rnd(4) == 0;
    if (nics_unknown) {
      inv.host_use_unknown.push_back(
          {inventory::UseClass::kNetwork, "/proc/net/route", "cannot be read"});
    }
    std::sort(inv.functions.begin(), inv.functions.end(),
              [](const auto& a, const auto& b) { return a.address < b.address; });
    for (auto& g : inv.iommu_groups) std::sort(g.members.begin(), g.members.end());
    // The same classification inventory uses.
    for (const auto& f : inv.functions) {
      if (f.role != inventory::Role::kGpu) continue;
      inventory::Gpu gpu;
      gpu.address = f.address;
      gpu.boot_vga = f.boot_vga;
      gpu.iommu_group = f.iommu_group;
      inv.gpus.push_back(gpu);
    }
    plan::Plan p = plan::MakePlan(inv, Policy());
    EXPECT_EQ(plan::ToJson(p), plan::ToJson(plan::MakePlan(inv, Policy())));
    std::set<std::string> bound;
    for (const auto& b : Bound(p)) bound.insert(b);
    for (const auto& addr : bound) {
      auto a = *inventory::PciAddress::Parse(addr);
      EXPECT_EQ(inv.CriticalWhy(a), "") << "machine " << machine << " binds critical " << addr;
      const auto* f = inv.Find(a);
      EXPECT_FALSE(nics_unknown && (f->class_id >> 8) == 0x02)
          << "machine " << machine << " binds NIC " << addr << " with their use unknown";
      for (const auto& m : inv.Group(*f->iommu_group)->members) {
        const auto* mf = inv.Find(m);
        if (mf->role == inventory::Role::kBridge) continue;
        EXPECT_EQ(bound.count(m.ToString()), 1u) << "machine " << machine << ": group "
                                                 << *f->iommu_group << " split at " << m.ToString();
      }
    }
  }
}

}  // namespace
}  // namespace gpuhost::testing

namespace gpuhost::testing {
namespace {

TEST(PlanFramebufferTest, FirmwareFramebufferOnAVfioGpuAsksForSysfbOff) {
  TempDir dir;
  BuildGpuServer(dir.path());
  SysfsBuilder b(dir.path());
  std::string gpu = b.DevicePath("0000:81:00.0");
  b.Write(gpu + "/resource",
          "0x00000000de000000 0x00000000deffffff 0x0000000000040200\n"
          "0x0000038000000000 0x00000387ffffffff 0x000000000014220c\n"
          "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
  b.Write("/proc/iomem",
          "00000000-00000fff : Reserved\n"
          "3800000000000-387ffffffffff : PCI Bus 0000:80\n"
          "  38000000000-380002fffff : BOOTFB\n");
  auto inv = CollectFromRoot(dir.path());
  ASSERT_EQ(inv.system.framebuffers.size(), 1u);
  EXPECT_EQ(inv.Find(*inventory::PciAddress::Parse("0000:81:00.0"))->bars.size(), 2u);
  plan::Plan p = plan::MakePlan(inv, plan::Policy());
  EXPECT_NE(
      std::find(p.kernel_params.begin(), p.kernel_params.end(), "initcall_blacklist=sysfb_init"),
      p.kernel_params.end());
  bool warned = false;
  for (const auto& w : p.warnings) {
    warned = warned ||
             w.message.find("BOOTFB (38000000000-380002fffff) lies in BAR 1 of 0000:81:00.0") !=
                 std::string::npos;
  }
  EXPECT_TRUE(warned);
  // The same GPU kept on the host needs nothing.
  plan::Plan host = plan::MakePlan(
      inv, MustParse(R"({"gpus": [{"match": {"address": "0000:81:00.0"}, "assign": "host"}]})"));
  EXPECT_EQ(std::find(host.kernel_params.begin(), host.kernel_params.end(),
                      "initcall_blacklist=sysfb_init"),
            host.kernel_params.end());
}

}  // namespace
}  // namespace gpuhost::testing

namespace gpuhost::testing {
namespace {

TEST(PlanDevicesTest, PolicyDevicesRulesPassThroughOtherFunctionsSafely) {
  TempDir dir;
  BuildGpuServer(dir.path());
  SysfsBuilder b(dir.path());
  b.Add(RootPort("0000:00:04.0", 8));
  b.Add(Fn("0000:05:00.0", 0x1234, 0x11e8, 0x00ff00, "0000:00:04.0", "", 8));  // qemu edu
  auto inv = CollectFromRoot(dir.path());
  Policy pol = MustParse(R"({"devices": [
      {"match": {"vendor_device": "1234:11e8"}, "assign": "vfio", "comment": "qa"},
      {"match": {"address": "0000:00:1f.6"}, "assign": "vfio"},
      {"match": {"address": "0000:00:01.0"}, "assign": "vfio"}]})");
  plan::Plan p = plan::MakePlan(inv, pol);
  ASSERT_EQ(p.devices.size(), 2u) << "the root port (a bridge) is never a device to move";
  EXPECT_EQ(p.devices[0].gpu.ToString(), "0000:00:1f.6");
  EXPECT_EQ(p.devices[0].assignment, Assignment::kHost);
  EXPECT_NE(p.devices[0].reason.find("default route via eno1"), std::string::npos)
      << p.devices[0].reason;
  EXPECT_EQ(p.devices[1].gpu.ToString(), "0000:05:00.0");
  EXPECT_EQ(p.devices[1].assignment, Assignment::kVfio);
  EXPECT_EQ(p.devices[1].rule, "policy devices[0] (qa)");
  auto bound = Bound(p);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:05:00.0"), 1);
  EXPECT_EQ(std::count(bound.begin(), bound.end(), "0000:00:1f.6"), 0);
  // Round trip.
  auto back = plan::PlanFromJson(plan::ToJson(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(plan::ToJson(*back), plan::ToJson(p));
}

}  // namespace
}  // namespace gpuhost::testing
