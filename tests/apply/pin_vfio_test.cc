// The pin before udev's coldplug (apply/pin_vfio.h): after a reboot, the
// functions the agent's udev rules name get driver_override=vfio-pci before
// any driver loads, so a host GPU's driver that loads first and probes every
// card of its kind leaves the passthrough twin alone, and the boot's apply
// finds everything where the last one left it.
#include "apply/pin_vfio.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "apply/apply.h"
#include "apply/apply_helpers.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "inventory/inventory_test_util.h"
#include "plan/config_files.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/fake_kernel_fs.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using result::Outcome;

// Two identical L40S (10de:26b9): the first stays on the host, the second
// (and its audio function) goes to vfio-pci.
constexpr const char* kHostGpu = "0000:17:00.0";
constexpr const char* kTwin = "0000:81:00.0";
constexpr const char* kTwinAudio = "0000:81:00.1";

result::State Apply(const std::string& root) {
  return ApplyWith(root, KeepGpuOnHost(kHostGpu)).state;
}

std::vector<std::string> Devices(const std::string& root) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(root + "/sys/bus/pci/devices")) {
    out.push_back(e.path().filename().string());
  }
  return out;
}

// A reboot as the kernel leaves it before udev: every function enumerated,
// none bound, no override.
void Reboot(const std::string& root) {
  for (const auto& a : Devices(root)) {
    std::string dev = root + "/sys/bus/pci/devices/" + a;
    std::filesystem::remove(dev + "/driver");
    ASSERT_TRUE(WriteFileAtomic(dev + "/driver_override", "(null)\n", 0644).ok());
  }
}

// A driver module registering: the kernel binds every unbound function of
// `vendor` whose override is unset or names the driver (what nvidia.ko does
// for all NVIDIA display functions at once).
void LoadDriver(const std::string& root, const std::string& driver, const std::string& vendor) {
  RootFs fs(root);
  for (const auto& a : Devices(root)) {
    std::string dev = "/sys/bus/pci/devices/" + a;
    if (Trim(*fs.Read(dev + "/vendor")) != vendor || fs.Exists(dev + "/driver")) continue;
    auto cls = fs.Read(dev + "/class");
    if (!StartsWith(Trim(*cls), "0x03")) continue;
    std::string ov(Trim(*fs.Read(dev + "/driver_override")));
    if (ov != "(null)" && ov != driver) continue;
    std::string devdir = std::filesystem::weakly_canonical(root + dev).string();
    std::filesystem::create_symlink(
        std::filesystem::path(root + "/sys/bus/pci/drivers/" + driver).lexically_relative(devdir),
        devdir + "/driver");
  }
}

std::vector<apply::PinTarget> Rules(const std::string& root) {
  auto text = ReadFileAt(root + plan::kUdevRules);
  EXPECT_TRUE(text.ok());
  auto t = apply::ParseVfioRules(text.ok() ? *text : "", plan::kUdevRules);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return t.ok() ? *t : std::vector<apply::PinTarget>{};
}

// The server after one apply and a reboot: the rules' functions, nothing bound yet.
std::vector<apply::PinTarget> AppliedThenRebooted(const std::string& root) {
  BuildGpuServer(root);
  Apply(root);
  std::vector<apply::PinTarget> targets = Rules(root);
  Reboot(root);
  return targets;
}

TEST(PinVfioTest, TheRulesFunctionsArePinnedBeforeAHostDriverLoadsAndApplyChangesNothing) {
  TempDir dir;
  BuildGpuServer(dir.path());
  result::State first = Apply(dir.path());
  ASSERT_EQ(DriverOf(dir.path(), kTwin), "vfio-pci\n");
  ASSERT_EQ(DriverOf(dir.path(), kHostGpu), "nvidia\n");
  std::vector<apply::PinTarget> targets = Rules(dir.path());
  std::vector<std::string> named;
  for (const auto& t : targets) named.push_back(t.address.ToString());
  ASSERT_NE(std::find(named.begin(), named.end(), kTwin), named.end());
  ASSERT_EQ(std::find(named.begin(), named.end(), kHostGpu), named.end());

  // Without the pin, the host GPU's driver takes the twin too: the race.
  Reboot(dir.path());
  LoadDriver(dir.path(), "nvidia", "0x10de");
  EXPECT_EQ(DriverOf(dir.path(), kTwin), "nvidia\n") << "the fixture shows the race";

  Reboot(dir.path());
  FakeKernelFs fs(dir.path());
  auto pinned = apply::PinVfio(fs, targets);
  ASSERT_EQ(pinned.size(), targets.size());
  for (const auto& r : pinned) {
    EXPECT_FALSE(r.failed) << r.address << ": " << r.message;
    EXPECT_NE(r.message.find("pinned to vfio-pci"), std::string::npos) << r.message;
  }
  for (const auto& a : Devices(dir.path())) {
    bool in_rules = std::find(named.begin(), named.end(), a) != named.end();
    EXPECT_EQ(Override(dir.path(), a), in_rules ? "vfio-pci" : "(null)") << a;
  }
  for (const auto& e : fs.log()) {
    EXPECT_NE(e.find("/driver_override="), std::string::npos) << "only overrides: " << e;
  }
  LoadDriver(dir.path(), "nvidia", "0x10de");
  EXPECT_EQ(DriverOf(dir.path(), kHostGpu), "nvidia\n");
  EXPECT_FALSE(RootFs(dir.path()).Exists(std::string("/sys/bus/pci/devices/") + kTwin + "/driver"))
      << "left for vfio-pci, not on " << DriverOf(dir.path(), kTwin);
  // vfio-pci registering (modules-load.d) binds what is pinned to it.
  for (const auto& a : named) {
    ASSERT_TRUE(fs.WriteAttribute("/sys/bus/pci/drivers_probe", a, false).ok());
  }
  ASSERT_EQ(DriverOf(dir.path(), kTwin), "vfio-pci\n");
  ASSERT_EQ(DriverOf(dir.path(), kTwinAudio), "vfio-pci\n");

  result::State second = Apply(dir.path());
  int binds = 0;
  for (const auto& a : second.actions) {
    if (a.action.Kind() != plan::ActionKind::kBindVfio) continue;
    ++binds;
    EXPECT_EQ(a.outcome, Outcome::kUnchanged) << a.action.Target() << ": " << a.message;
  }
  EXPECT_EQ(binds, static_cast<int>(targets.size()));

  // A second pin writes nothing.
  FakeKernelFs again(dir.path());
  apply::PinVfio(again, targets);
  EXPECT_TRUE(again.log().empty()) << again.log()[0];
}

TEST(PinVfioTest, ASlotHoldingAnotherCardIsLeftAlone) {
  TempDir dir;
  std::vector<apply::PinTarget> targets = AppliedThenRebooted(dir.path());
  // An RTX 4090 (10de:2684) where the L40S was.
  ASSERT_TRUE(
      WriteFileAtomic(dir.path() + "/sys/bus/pci/devices/" + kTwin + "/device", "0x2684\n", 0644)
          .ok());
  FakeKernelFs fs(dir.path());
  for (const auto& r : apply::PinVfio(fs, targets)) {
    if (r.address != kTwin) continue;
    EXPECT_FALSE(r.failed);
    EXPECT_EQ(r.message, "holds 10de:2684, not 10de:26b9; left alone");
  }
  EXPECT_EQ(Override(dir.path(), kTwin), "(null)");
  EXPECT_EQ(Override(dir.path(), kTwinAudio), "vfio-pci") << "its audio function is unchanged";
}

TEST(PinVfioTest, AFunctionBoundBeforeThePinIsLeftForApply) {
  TempDir dir;
  std::vector<apply::PinTarget> targets = AppliedThenRebooted(dir.path());
  LoadDriver(dir.path(), "nvidia", "0x10de");  // as if the initrd had loaded it
  FakeKernelFs fs(dir.path());
  bool seen = false;
  for (const auto& r : apply::PinVfio(fs, targets)) {
    if (r.address != kTwin) continue;
    seen = true;
    EXPECT_EQ(r.message,
              "10de:26b9 pinned to vfio-pci, but nvidia bound it first; gpuhost-agent apply "
              "moves it");
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(DriverOf(dir.path(), kTwin), "nvidia\n") << "nothing unbound";
  EXPECT_EQ(Override(dir.path(), kTwin), "vfio-pci");
}

TEST(PinVfioTest, AnAbsentFunctionIsReportedNotFailed) {
  TempDir dir;
  BuildGpuServer(dir.path());
  auto t = apply::ParseVfioRules(
      "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:c1:00.0\", ATTR{vendor}==\"0x10de\", "
      "ATTR{device}==\"0x26b9\", ATTR{driver_override}=\"vfio-pci\"\n",
      "rules");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  FakeKernelFs fs(dir.path());
  auto r = apply::PinVfio(fs, *t);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].failed);
  EXPECT_EQ(r[0].message, "not present; nothing to pin");
  EXPECT_TRUE(fs.log().empty());
}

TEST(ParseVfioRulesTest, ReadsWhatUdevRulesWrites) {
  std::vector<plan::VfioFunction> in = {
      {*inventory::PciAddress::Parse("0000:81:00.0"), 0x10de, 0x26b9},
      {*inventory::PciAddress::Parse("10000:e1:00.1"), 0x1002, 0xab30}};
  auto t = apply::ParseVfioRules(plan::UdevRules(in), "rules");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 2u);
  EXPECT_EQ((*t)[0].address.ToString(), "0000:81:00.0");
  EXPECT_EQ((*t)[0].vendor_id, 0x10de);
  EXPECT_EQ((*t)[0].device_id, 0x26b9);
  EXPECT_EQ((*t)[1].address.ToString(), "10000:e1:00.1");
  EXPECT_EQ((*t)[1].device_id, 0xab30);
  auto none = apply::ParseVfioRules(plan::UdevRules({}), "rules");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ParseVfioRulesTest, AnOlderRuleWithoutIdsPinsByAddress) {
  auto t = apply::ParseVfioRules(
      "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:81:00.0\", "
      "ATTR{driver_override}=\"vfio-pci\", RUN+=\"/bin/sh -c 'modprobe -q vfio-pci'\"\n",
      "rules");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->size(), 1u);
  EXPECT_FALSE((*t)[0].vendor_id.has_value());
}

TEST(ParseVfioRulesTest, RulesThatAreNotTheAgentsPinNothing) {
  const std::string good =
      "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:81:00.0\", "
      "ATTR{driver_override}=\"vfio-pci\"\n";
  for (const auto& [bad, why] : std::vector<std::pair<std::string, std::string>>{
           {"ACTION==\"add\", SUBSYSTEM==\"pci\", ATTR{driver_override}=\"vfio-pci\"", "no KERNEL"},
           {"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:81:00.*\", "
            "ATTR{driver_override}=\"vfio-pci\"",
            "a glob"},
           {"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"81:00.0\", "
            "ATTR{driver_override}=\"vfio-pci\"",
            "a short address"},
           {"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:81:00.0\", "
            "ATTR{driver_override}=\"nvidia\"",
            "another driver"},
           {"ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"0000:81:00.0\", "
            "ATTR{vendor}==\"10de\", ATTR{driver_override}=\"vfio-pci\"",
            "an ID without 0x"},
           {"SUBSYSTEM==\"usb\", RUN+=\"/bin/true\"", "someone else's rule"}}) {
    auto t = apply::ParseVfioRules("# comment\n" + good + bad + "\n", "/etc/x.rules");
    ASSERT_FALSE(t.ok()) << why;
    EXPECT_TRUE(StartsWith(t.status().message(), "/etc/x.rules:3: not a rule gpuhost-agent writes"))
        << why << ": " << t.status().message();
    EXPECT_NE(t.status().message().find("nothing pinned"), std::string::npos);
  }
}

}  // namespace
}  // namespace gpuhost::testing
