// Apply on fixture trees whose sysfs answers like a kernel (FakeKernelFs).
#include "apply/apply.h"

#include "base/fileio.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>

#include "inventory/inventory_test_util.h"
#include "plan/config_files.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/fake_kernel_fs.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

class NoCommands : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>& argv, int) override {
    ran.push_back(argv[0]);
    return Status::Ok();
  }
  std::vector<std::string> ran;
};

struct ApplyRun {
  report::State state;
  std::vector<std::string> log;
};

// One agent run on `root`: inventory, default plan, apply.
ApplyRun ApplyOnce(const std::string& root, int die_at = 0, const std::string& stuck = "",
              std::vector<std::string> missing_modules = {}) {
  FakeKernelFs fs(root);
  fs.set_die_at(die_at);
  fs.set_stuck_unbind(stuck);
  FakeModuleLoader modules(fs);
  modules.missing = std::move(missing_modules);
  NoCommands commands;
  inventory::Inventory inv = CollectFromRoot(root);
  plan::Plan p = plan::MakePlan(inv, plan::Policy());
  apply::Env env{fs, modules, commands, nullptr};
  apply::Options opts;
  opts.live = true;
  ApplyRun r;
  r.state = apply::Apply(inv, p, env, opts);
  r.log = fs.log();
  return r;
}

std::string DriverOf(const std::string& root, const std::string& addr) {
  return RunCommand("basename \"$(readlink '" + root + "/sys/bus/pci/devices/" + addr +
                    "/driver')\"");
}

const report::ActionResult* Find(const report::State& s, plan::ActionKind k, const std::string& t) {
  for (const auto& a : s.actions) {
    if (a.action.kind == k && a.action.target == t) return &a;
  }
  return nullptr;
}

TEST(ApplyTest, BindsEveryPlannedFunctionAndReadsBack) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyRun r = ApplyOnce(dir.path());
  for (const char* a : {"0000:17:00.0", "0000:17:00.1", "0000:21:00.3", "0000:00:03.1",
                        "0000:81:00.1"}) {
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
  EXPECT_EQ(rules->outcome, "done");
  EXPECT_EQ(*ReadFileAt(dir.path() + plan::kUdevRules), rules->action.value);
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
}

TEST(ApplyTest, SecondRunChangesNothing) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyOnce(dir.path());
  ApplyRun second = ApplyOnce(dir.path());
  EXPECT_TRUE(second.log.empty()) << second.log[0];
  for (const auto& a : second.state.actions) {
    EXPECT_TRUE(a.outcome == "unchanged" || a.outcome == "missing" || a.outcome == "skipped")
        << plan::ActionKindName(a.action.kind) << " " << a.action.target << ": " << a.outcome;
  }
}

TEST(ApplyTest, BindThatDoesNotTakeIsReportedAndTheRestGoesOn) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyRun r = ApplyOnce(dir.path(), 0, "0000:17:00.0");
  const auto* a = Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->outcome, "failed");
  EXPECT_NE(a->message.find("read back: driver is 'nvidia'"), std::string::npos) << a->message;
  EXPECT_EQ(r.state.result, "failed");
  EXPECT_EQ(DriverOf(dir.path(), "0000:81:00.0"), "vfio-pci\n");
}

TEST(ApplyTest, MissingVfioModuleSkipsBindsAndFails) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyRun r = ApplyOnce(dir.path(), 0, "", {"vfio_pci"});
  EXPECT_EQ(Find(r.state, plan::ActionKind::kLoadModule, "vfio_pci")->outcome, "failed");
  EXPECT_EQ(Find(r.state, plan::ActionKind::kBindVfio, "0000:17:00.0")->outcome, "skipped");
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.0"), "nvidia\n");
  EXPECT_EQ(r.state.result, "failed");
}

// Snapshot of everything apply may touch: files with contents, links with
// targets. Temporary files from atomic writes must never remain.
std::string Snapshot(const std::string& root) {
  return RunCommand("cd '" + root + "' && find etc sys/bus sys/devices sys/module proc/sys run var "
                    "\\( -type f -printf '%p %s ' -exec md5sum {} \\; \\) -o "
                    "\\( -type l -printf '%p -> %l\\n' \\) 2>/dev/null | sort");
}

TEST(ApplyKillTest, KilledAtEveryStepTheNextRunCompletesTheWork) {
  TempDir reference;
  BuildGpuServer(reference.path());
  ApplyRun full = ApplyOnce(reference.path());
  std::string want = Snapshot(reference.path());
  const int steps = static_cast<int>(full.log.size());
  ASSERT_GT(steps, 30);
  for (int n = 1; n <= steps; ++n) {
    TempDir dir;
    BuildGpuServer(dir.path());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ApplyOnce(dir.path(), n);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 99) << "run was not killed at step " << n;
    ApplyRun rest = ApplyOnce(dir.path());
    EXPECT_TRUE(rest.state.errors.empty()) << "step " << n << ": " << rest.state.errors[0].message;
    std::string got = Snapshot(dir.path());
    EXPECT_EQ(got.find(".gpuhost-tmp"), std::string::npos) << "step " << n;
    ASSERT_EQ(got, want) << "killed at step " << n << " (" << full.log[n - 1] << ")";
  }
}

}  // namespace
}  // namespace gpuhost::testing
