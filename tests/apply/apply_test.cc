// Apply on fixture trees whose sysfs answers like a kernel (FakeKernelFs).
#include "apply/apply.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>

#include "apply/apply_helpers.h"
#include "apply/holders.h"
#include "apply/restore.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "inventory/inventory_test_util.h"
#include "plan/config_files.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/fake_kernel_fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using result::Outcome;

class NoCommands : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>& argv, int) override {
    ran.push_back(argv[0]);
    return Status::Ok();
  }
  std::vector<std::string> ran;
};

struct ApplyRun {
  result::State state;
  std::vector<std::string> log;
};

struct RunSetup {
  int die_at = 0;       // FakeKernelFs::set_die_at
  std::string stuck;    // an unbind that does nothing
  std::string hanging;  // an unbind that blocks (a FIFO in the tree)
  std::vector<std::string> missing_modules;
  std::function<void(inventory::Inventory*)> edit_inventory;   // e.g. add a running VM
  std::function<Status(const inventory::PciAddress&)> detach;  // libvirt's, when set
  std::function<void(const result::ActionResult&)> on_action;  // after each action
};

// One agent run on `root`: inventory, default plan, apply.
ApplyRun ApplyOnce(const std::string& root, const RunSetup& setup = {}) {
  FakeKernelFs fs(root);
  fs.set_die_at(setup.die_at);
  fs.set_stuck_unbind(setup.stuck);
  fs.set_hanging_unbind(setup.hanging);
  FakeModuleLoader modules(fs);
  modules.missing = setup.missing_modules;
  NoCommands commands;
  inventory::Inventory inv = CollectFromRoot(root);
  if (setup.edit_inventory) setup.edit_inventory(&inv);
  plan::Plan p = plan::MakePlan(inv, plan::Policy());
  apply::Env env{fs, modules, commands, setup.on_action, setup.detach};
  apply::Options opts;
  opts.live = true;
  ApplyRun r;
  r.state = apply::Apply(inv, p, env, opts);
  r.log = fs.log();
  return r;
}

TEST(ApplyTest, BindsEveryPlannedFunctionAndReadsBack) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyRun r = ApplyOnce(dir.path());
  for (const char* a :
       {"0000:17:00.0", "0000:17:00.1", "0000:21:00.3", "0000:00:03.1", "0000:81:00.1"}) {
    EXPECT_EQ(DriverOf(dir.path(), a), "vfio-pci\n") << a;
  }
  // Kept on the host: the BMC, the NVMe root disk, the management NIC.
  EXPECT_EQ(DriverOf(dir.path(), "0000:03:00.0"), "ast\n");
  EXPECT_EQ(DriverOf(dir.path(), "0000:3d:00.0"), "nvme\n");
  EXPECT_EQ(DriverOf(dir.path(), "0000:00:1f.6"), "e1000e\n");
  // Per device: override, then unbind, then probe.
  auto pos = [&](const std::string& entry) {
    return std::find(r.log.begin(), r.log.end(), entry) - r.log.begin();
  };
  auto ov = pos("attr /sys/bus/pci/devices/0000:17:00.0/driver_override=vfio-pci");
  auto unbind = pos("attr /sys/bus/pci/devices/0000:17:00.0/driver/unbind=0000:17:00.0");
  auto probe = pos("attr /sys/bus/pci/drivers_probe=0000:17:00.0");
  EXPECT_LT(ov, unbind);
  EXPECT_LT(unbind, probe);
  EXPECT_LT(probe, static_cast<long>(r.log.size()));
  // The unbound audio function needs no unbind.
  EXPECT_EQ(pos("attr /sys/bus/pci/devices/0000:81:00.1/driver/unbind=0000:81:00.1"),
            static_cast<long>(r.log.size()));
  EXPECT_EQ(Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0")->message,
            "moved from nvidia to vfio-pci");
  const auto* rules = Find(r.state, plan::ActionKind::kWriteFile, plan::kUdevRules);
  ASSERT_NE(rules, nullptr);
  EXPECT_EQ(rules->outcome, Outcome::kDone);
  EXPECT_EQ(*ReadFileAt(dir.path() + plan::kUdevRules), rules->action.Value());
  // Hardening read back; Yama is absent from this kernel.
  int ok = 0;
  for (const auto& c : r.state.checks) {
    if (c.name == "kernel.yama.ptrace_scope") {
      EXPECT_FALSE(c.ok);
      EXPECT_EQ(c.actual, "absent");
    } else {
      EXPECT_TRUE(c.ok) << c.name << " = " << c.actual;
      ok++;
    }
  }
  EXPECT_GT(ok, 15);
  EXPECT_EQ(*ReadFileAt(dir.path() + "/proc/sys/kernel/kptr_restrict"), "2\n");
  EXPECT_TRUE(r.state.errors.empty()) << r.state.errors[0].message;
  EXPECT_EQ(r.state.result, "degraded") << "Yama missing and parameters missing";
  // The result carries the drivers as the run left them, not inventory's.
  EXPECT_EQ(r.state.inventory.Find(*inventory::PciAddress::Parse("0000:17:00.0"))->driver,
            "vfio-pci");
  EXPECT_EQ(r.state.inventory.Find(*inventory::PciAddress::Parse("0000:03:00.0"))->driver, "ast");
}

// A GPU driver that takes the device back after the bind (a probe racing the
// run, a rule rebinding it) must not leave a healthy report behind.
TEST(ApplyTest, ABindUndoneBeforeTheRunEndsIsAnError) {
  TempDir dir;
  BuildGpuServer(dir.path());
  const std::string gpu = dir.path() + "/sys/bus/pci/devices/0000:17:00.0";
  RunSetup setup;
  setup.on_action = [&](const result::ActionResult& r) {
    if (r.action.Kind() == plan::ActionKind::kBindVfio && r.action.Target() == "0000:17:00.1") {
      std::filesystem::remove(gpu + "/driver");
      std::filesystem::create_symlink("../../../bus/pci/drivers/nvidia", gpu + "/driver");
    }
  };
  ApplyRun r = ApplyOnce(dir.path(), setup);
  EXPECT_EQ(Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0")->outcome, Outcome::kDone);
  ASSERT_FALSE(r.state.errors.empty());
  bool named = false;
  for (const auto& e : r.state.errors) {
    if (e.where == "0000:17:00.0" &&
        e.message == "bind-vfio: on vfio-pci during the run, on 'nvidia' at its end")
      named = true;
  }
  EXPECT_TRUE(named) << r.state.errors[0].where << ": " << r.state.errors[0].message;
  EXPECT_EQ(r.state.result, "failed");
  EXPECT_EQ(r.state.inventory.Find(*inventory::PciAddress::Parse("0000:17:00.0"))->driver,
            "nvidia");
}

TEST(ApplyTest, SecondRunChangesNothing) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyOnce(dir.path());
  ApplyRun second = ApplyOnce(dir.path());
  EXPECT_TRUE(second.log.empty()) << second.log[0];
  for (const auto& a : second.state.actions) {
    EXPECT_TRUE(a.outcome == Outcome::kUnchanged || a.outcome == Outcome::kMissing ||
                a.outcome == Outcome::kSkipped)
        << plan::ActionKindName(a.action.Kind()) << " " << a.action.Target() << ": " << a.outcome;
  }
}

TEST(ApplyTest, BindThatDoesNotTakeIsReportedAndTheRestGoesOn) {
  TempDir dir;
  BuildGpuServer(dir.path());
  RunSetup setup;
  setup.stuck = "0000:17:00.0";
  ApplyRun r = ApplyOnce(dir.path(), setup);
  const auto* a = Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->outcome, Outcome::kFailed);
  EXPECT_NE(a->message.find("read back: driver is 'nvidia'"), std::string::npos) << a->message;
  EXPECT_EQ(r.state.result, "failed");
  EXPECT_EQ(DriverOf(dir.path(), "0000:81:00.0"), "vfio-pci\n");
}

TEST(ApplyTest, MissingVfioModuleSkipsBindsAndFails) {
  TempDir dir;
  BuildGpuServer(dir.path());
  RunSetup setup;
  setup.missing_modules = {"vfio_pci"};
  ApplyRun r = ApplyOnce(dir.path(), setup);
  EXPECT_EQ(Find(r.state, plan::ActionKind::kLoadModule, "vfio_pci")->outcome, Outcome::kFailed);
  EXPECT_EQ(Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0")->outcome, Outcome::kSkipped);
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.0"), "nvidia\n");
  EXPECT_EQ(r.state.result, "failed");
}

TEST(ApplyKillTest, KilledAtEveryStepTheNextRunCompletesTheWork) {
  TempDir reference;
  BuildGpuServer(reference.path());
  ApplyRun full = ApplyOnce(reference.path());
  std::string want = TreeSnapshot(reference.path());
  const int steps = static_cast<int>(full.log.size());
  ASSERT_GT(steps, 30);
  std::printf("kill test: %d mutating steps, killed before each in turn\n", steps);
  for (int n = 1; n <= steps; ++n) {
    TempDir dir;
    BuildGpuServer(dir.path());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      RunSetup setup;
      setup.die_at = n;
      ApplyOnce(dir.path(), setup);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 99) << "run was not killed at step " << n;
    ApplyRun rest = ApplyOnce(dir.path());
    EXPECT_TRUE(rest.state.errors.empty()) << "step " << n << ": " << rest.state.errors[0].message;
    std::string got = TreeSnapshot(dir.path());
    EXPECT_EQ(got.find(".gpuhost-tmp"), std::string::npos) << "step " << n;
    ASSERT_EQ(got, want) << "killed at step " << n << " (" << full.log[n - 1] << ")";
  }
}

// A process with the GPU's DRM node open, one with the audio function's
// ALSA node open: both functions stay; the rest are bound.
TEST(ApplySafetyTest, HeldFunctionsAreLeftAloneWithTheirHolderNamed) {
  TempDir dir;
  BuildGpuServer(dir.path());
  SysfsBuilder b(dir.path());
  std::string gpu = b.DevicePath("0000:17:00.0");
  b.Write(gpu + "/drm/card1/dev", "226:1\n");
  b.Write(gpu + "/drm/renderD129/dev", "226:129\n");
  b.Write("/proc/812/comm", "Xorg\n");
  std::filesystem::create_directories(dir.path() + "/proc/812/fd");
  std::filesystem::create_symlink("/dev/dri/card1", dir.path() + "/proc/812/fd/14");
  std::filesystem::create_symlink("/dev/null", dir.path() + "/proc/812/fd/0");
  std::string audio = b.DevicePath("0000:21:00.1");
  b.Write(audio + "/sound/card2/id", "NVidia\n");
  b.Write("/dev/snd/controlC2", "");
  b.Write("/dev/snd/pcmC2D3p", "");
  b.Write("/dev/snd/controlC12", "");
  b.Write("/proc/977/comm", "pipewire\n");
  std::filesystem::create_directories(dir.path() + "/proc/977/fd");
  std::filesystem::create_symlink("/dev/snd/pcmC2D3p", dir.path() + "/proc/977/fd/31");
  ApplyRun r = ApplyOnce(dir.path());
  const auto* held = Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0");
  EXPECT_EQ(held->outcome, Outcome::kHeld);
  EXPECT_EQ(held->message, "left on nvidia: pid 812 (Xorg) has /dev/dri/card1 open");
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.0"), "nvidia\n");
  const auto* held_audio = Find(r.state, plan::ActionKind::kBindVfio, "0000:21:00.1");
  EXPECT_EQ(held_audio->outcome, Outcome::kHeld);
  EXPECT_NE(held_audio->message.find("pid 977 (pipewire) has /dev/snd/pcmC2D3p open"),
            std::string::npos);
  EXPECT_EQ(DriverOf(dir.path(), "0000:81:00.0"), "vfio-pci\n");
  // A group moves as a whole: the held GPU's audio and the held audio's
  // GPU, USB and UCSI functions stay too.
  const auto* mate = Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.1");
  EXPECT_EQ(mate->outcome, Outcome::kSkipped);
  EXPECT_EQ(mate->message,
            "IOMMU group 2 moves as a whole, and 0000:17:00.0 is left on nvidia: pid 812 (Xorg) "
            "has /dev/dri/card1 open");
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.1"), "snd_hda_intel\n");
  for (const char* a : {"0000:21:00.0", "0000:21:00.2", "0000:21:00.3"}) {
    EXPECT_EQ(Find(r.state, plan::ActionKind::kBindVfio, a)->outcome, Outcome::kSkipped) << a;
    EXPECT_NE(DriverOf(dir.path(), a), "vfio-pci\n") << a;
  }
  EXPECT_EQ(r.state.result, "failed");
  bool named = false;
  for (const auto& e : r.state.errors) named = named || e.where == "0000:17:00.0";
  EXPECT_TRUE(named);
}

TEST(ApplySafetyTest, RootDiskMountOnAControllerHoldsIt) {
  TempDir dir;
  BuildGpuServer(dir.path());
  inventory::PciFunction nvme;
  nvme.address = *inventory::PciAddress::Parse("0000:3d:00.0");
  nvme.driver = "nvme";
  RootFs fs(dir.path());
  auto holders = apply::FindHolders(fs, nvme);
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(apply::Describe(holders[0]), "file system mounted on /");
}

TEST(ApplySafetyTest, AnUnbindThatNeverReturnsTimesOutAndTheRestGoesOn) {
  TempDir dir;
  BuildGpuServer(dir.path());
  // The nvidia driver's unbind attribute is a FIFO nobody reads: open()
  // blocks, as a write to a wedged driver's unbind does.
  ASSERT_EQ(mkfifo((dir.path() + "/sys/bus/pci/drivers/nvidia/unbind").c_str(), 0600), 0);
  auto t0 = std::chrono::steady_clock::now();
  RunSetup setup;
  setup.hanging = "0000:17:00.0";
  result::State st = ApplyOnce(dir.path(), setup).state;
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const auto* a = Find(st, plan::ActionKind::kBindVfio, "0000:17:00.0");
  EXPECT_EQ(a->outcome, Outcome::kFailed);
  EXPECT_NE(a->message.find("did not return within 300 ms"), std::string::npos) << a->message;
  EXPECT_EQ(DriverOf(dir.path(), "0000:81:00.0"), "vfio-pci\n");
  EXPECT_LT(secs, 10.0);
}

TEST(RestoreTest, EveryMovedFunctionGoesBackExceptWhatAVmUses) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyOnce(dir.path());
  ASSERT_EQ(DriverOf(dir.path(), "0000:17:00.0"), "vfio-pci\n");
  // A VM (qemu) holds the Turing card's group.
  SysfsBuilder b(dir.path());
  b.Write("/proc/4242/comm", "qemu-system-x86\n");
  std::filesystem::create_directories(dir.path() + "/proc/4242/fd");
  std::filesystem::create_symlink("/dev/vfio/4", dir.path() + "/proc/4242/fd/20");
  FakeKernelFs fs(dir.path());
  auto inv = CollectFromRoot(dir.path());
  auto results = apply::Restore(fs, inv, "/var/lib/gpuhost");
  std::map<std::string, std::string> outcome;
  for (const auto& r : results)
    outcome[r.action.Target()] = std::string(result::ToString(r.outcome)) + ": " + r.message;
  EXPECT_EQ(outcome["0000:17:00.0"], "done: back on nvidia");
  EXPECT_EQ(outcome["0000:81:00.1"], "done: released from vfio-pci");
  EXPECT_EQ(outcome["0000:21:00.0"],
            "held: left on vfio-pci: pid 4242 (qemu-system-x86) has /dev/vfio/4 open");
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.0"), "nvidia\n");
  EXPECT_EQ(DriverOf(dir.path(), "0000:00:03.1"), "igb\n");
  EXPECT_EQ(DriverOf(dir.path(), "0000:21:00.0"), "vfio-pci\n");
  EXPECT_EQ(Trim(*ReadFileAt(dir.path() + "/sys/bus/pci/devices/0000:17:00.0/driver_override")),
            "");
  // Only the held functions remain recorded; a second restore touches nothing else.
  FakeKernelFs again(dir.path());
  auto second = apply::Restore(again, CollectFromRoot(dir.path()), "/var/lib/gpuhost");
  for (const auto& r : second) EXPECT_EQ(r.outcome, Outcome::kHeld) << r.action.Target();
  EXPECT_TRUE(again.log().empty()) << again.log()[0];
}

// The H200 capture: the NVIDIA driver maps 0000:00:06.0 to /dev/nvidia0
// (/proc/driver/nvidia/gpus/.../information). On that machine a PyTorch
// process held it (device-run/holders-busy.txt); the same here.
TEST(HoldersRealDataTest, CudaProcessHoldsTheH200) {
  TempDir dir;
  RunCommand("cp -a '" + TestDataDir() + "/captures/h200-firecracker/tree/.' '" + dir.path() + "'");
  auto inv = CollectFromRoot(dir.path());
  const auto* gpu = inv.Find(*inventory::PciAddress::Parse("0000:00:06.0"));
  ASSERT_NE(gpu, nullptr);
  RootFs fs(dir.path());
  EXPECT_EQ(apply::DeviceNodes(fs, *gpu), (std::vector<std::string>{"/dev/nvidia0"}));
  EXPECT_TRUE(apply::FindHolders(fs, *gpu).empty());
  SysfsBuilder b(dir.path());
  b.Write("/proc/426/comm", "python3\n");
  std::filesystem::create_directories(dir.path() + "/proc/426/fd");
  std::filesystem::create_symlink("/dev/nvidiactl", dir.path() + "/proc/426/fd/5");
  std::filesystem::create_symlink("/dev/nvidia0", dir.path() + "/proc/426/fd/6");
  auto holders = apply::FindHolders(fs, *gpu);
  ASSERT_EQ(holders.size(), 1u);
  EXPECT_EQ(apply::Describe(holders[0]), "pid 426 (python3) has /dev/nvidia0 open");
  EXPECT_EQ(apply::Describe(holders[0]) + "\n",
            RunCommand("grep '^held:' '" + TestDataDir() +
                       "/captures/h200-firecracker/device-run/holders-busy.txt' | cut -c7-"));
}

// fuzz/proc_text_fuzz: a /proc entry of digits past int's range threw
// std::out_of_range from std::stoi and ended the agent mid-apply.
TEST(HoldersRealDataTest, AProcEntryNoPidCanHaveIsNotAProcess) {
  TempDir dir;
  RunCommand("cp -a '" + TestDataDir() + "/captures/h200-firecracker/tree/.' '" + dir.path() + "'");
  auto inv = CollectFromRoot(dir.path());
  const auto* gpu = inv.Find(*inventory::PciAddress::Parse("0000:00:06.0"));
  ASSERT_NE(gpu, nullptr);
  std::filesystem::create_directories(dir.path() + "/proc/99999999999/fd");
  std::filesystem::create_symlink("/dev/nvidia0", dir.path() + "/proc/99999999999/fd/6");
  RootFs fs(dir.path());
  EXPECT_TRUE(apply::FindHolders(fs, *gpu).empty());
}

TEST(ApplyVmTest, DevicesOfARunningVmAreNeverTouched) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyOnce(dir.path());  // everything planned is on vfio-pci now
  // Someone unbound the VM's audio function meanwhile: still the VM's.
  std::filesystem::remove(dir.path() + "/sys/bus/pci/devices/0000:17:00.1/driver");
  int detaches = 0;
  RunSetup setup;
  setup.edit_inventory = [](inventory::Inventory* inv) {
    inv->virt.domains.push_back({"win11",
                                 "running",
                                 true,
                                 {*inventory::PciAddress::Parse("0000:17:00.0"),
                                  *inventory::PciAddress::Parse("0000:17:00.1")}});
  };
  setup.detach = [&detaches](const inventory::PciAddress&) {
    detaches++;
    return Status::Ok();
  };
  ApplyRun r = ApplyOnce(dir.path(), setup);
  const result::State& st = r.state;
  const auto* gpu = Find(st, plan::ActionKind::kBindVfio, "0000:17:00.0");
  EXPECT_EQ(gpu->outcome, Outcome::kUnchanged);
  EXPECT_EQ(gpu->message, "on vfio-pci, in use by running VM win11");
  const auto* audio = Find(st, plan::ActionKind::kBindVfio, "0000:17:00.1");
  EXPECT_EQ(audio->outcome, Outcome::kHeld);
  EXPECT_EQ(detaches, 0) << "no libvirt detach for a running VM's device";
  EXPECT_TRUE(r.log.empty()) << r.log[0];
}

}  // namespace
}  // namespace gpuhost::testing
