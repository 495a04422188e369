// Policy changes are carried out both ways: a function an earlier policy
// sent to vfio-pci and the current one keeps on the host is given back live
// (unbind, driver_override cleared, probe, read back), through the same
// holders gate as binds, and `restore` does the same for recorded drivers.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "apply/apply.h"
#include "apply/apply_helpers.h"
#include "apply/restore.h"
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

constexpr const char* kGpu = "0000:17:00.0";  // a Turing card the default sends to vfio
// Policy A is the default; policy B, KeepGpuOnHost(kGpu), keeps the GPU (and with it its audio
// function) on the host.

TEST(ReturnToHostTest, PolicyBGivesTheGpuBackLiveAndASecondRunChangesNothing) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyWith(dir.path(), plan::Policy());  // policy A: the default sends the GPU to vfio
  ASSERT_EQ(DriverOf(dir.path(), kGpu), "vfio-pci\n");
  ASSERT_NE(ReadFileAt(dir.path() + plan::kUdevRules)->find(kGpu), std::string::npos);

  AgentRun b = ApplyWith(dir.path(), KeepGpuOnHost(kGpu));
  const auto* back = Find(b.state, plan::ActionKind::kKeepOnHost, kGpu);
  ASSERT_NE(back, nullptr) << "no keep-on-host action in the plan";
  EXPECT_EQ(back->outcome, Outcome::kDone) << back->message;
  EXPECT_EQ(back->message, "back on nvidia");
  EXPECT_EQ(DriverOf(dir.path(), kGpu), "nvidia\n");
  EXPECT_EQ(DriverOf(dir.path(), "0000:17:00.1"), "snd_hda_intel\n") << "its audio function too";
  EXPECT_EQ(Override(dir.path(), kGpu), "");
  EXPECT_EQ(ReadFileAt(dir.path() + plan::kUdevRules)->find(kGpu), std::string::npos)
      << "its udev rule is gone";
  EXPECT_EQ(DriverOf(dir.path(), "0000:81:00.0"), "vfio-pci\n") << "the others stay";
  // Per device: override cleared, then unbind, then probe.
  auto pos = [&](const std::string& e) {
    return std::find(b.log.begin(), b.log.end(), e) - b.log.begin();
  };
  auto ov = pos(std::string("attr /sys/bus/pci/devices/") + kGpu + "/driver_override=");
  auto unbind = pos(std::string("attr /sys/bus/pci/devices/") + kGpu + "/driver/unbind=" + kGpu);
  auto probe = pos(std::string("attr /sys/bus/pci/drivers_probe=") + kGpu);
  EXPECT_LT(ov, unbind);
  EXPECT_LT(unbind, probe);
  EXPECT_LT(probe, static_cast<long>(b.log.size()));
  EXPECT_TRUE(b.state.errors.empty()) << b.state.errors[0].message;
  auto record = apply::ReadOriginalDrivers(RootFs(dir.path()), "/var/lib/gpuhost");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->count(kGpu), 0u) << "released functions leave the record";

  AgentRun again = ApplyWith(dir.path(), KeepGpuOnHost(kGpu));
  EXPECT_TRUE(again.log.empty()) << again.log[0];
  EXPECT_EQ(Find(again.state, plan::ActionKind::kKeepOnHost, kGpu)->outcome, Outcome::kUnchanged)
      << "on its host driver: nothing to give back";
}

// The lines only one snapshot has, marked - (wanted) and + (got).
std::string Differences(const std::string& want, const std::string& got) {
  auto w = Split(want, '\n'), g = Split(got, '\n');
  std::string out;
  for (const auto& l : w) {
    if (std::find(g.begin(), g.end(), l) == g.end()) out += "- " + l + "\n";
  }
  for (const auto& l : g) {
    if (std::find(w.begin(), w.end(), l) == w.end()) out += "+ " + l + "\n";
  }
  return out;
}

TEST(ReturnToHostTest, KilledAtEveryStepOfTheReleaseTheNextRunCompletesIt) {
  TempDir reference;
  BuildGpuServer(reference.path());
  ApplyWith(reference.path(), plan::Policy());
  AgentRun full = ApplyWith(reference.path(), KeepGpuOnHost(kGpu));
  std::string want = TreeSnapshot(reference.path());
  const int steps = static_cast<int>(full.log.size());
  ASSERT_GE(steps, 6) << "two functions: override, unbind, probe, bind each";
  std::printf("return-to-host kill test: %d mutating steps, killed before each in turn\n", steps);
  for (int n = 1; n <= steps; ++n) {
    TempDir dir;
    BuildGpuServer(dir.path());
    ApplyWith(dir.path(), plan::Policy());
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ApplyWith(dir.path(), KeepGpuOnHost(kGpu), n);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    ASSERT_TRUE(WIFEXITED(st));
    ASSERT_EQ(WEXITSTATUS(st), 99) << "run was not killed at step " << n;
    AgentRun rest = ApplyWith(dir.path(), KeepGpuOnHost(kGpu));
    EXPECT_TRUE(rest.state.errors.empty()) << "step " << n << ": " << rest.state.errors[0].message;
    std::string got = TreeSnapshot(dir.path());
    ASSERT_TRUE(got == want) << "killed at step " << n << " (" << full.log[n - 1] << "), differs:\n"
                             << Differences(want, got);
  }
}

TEST(ReturnToHostTest, AFunctionAVmUsesStaysOnVfioWithAWarning) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyWith(dir.path(), plan::Policy());
  auto vm = [](inventory::Inventory* inv) {
    inv->virt.domains.push_back(
        {"win11",
         "running",
         true,
         {*inventory::PciAddress::Parse(kGpu), *inventory::PciAddress::Parse("0000:17:00.1")}});
  };
  AgentRun b = ApplyWith(dir.path(), KeepGpuOnHost(kGpu), 0, vm);
  const auto* held = Find(b.state, plan::ActionKind::kKeepOnHost, kGpu);
  ASSERT_NE(held, nullptr);
  EXPECT_EQ(held->outcome, Outcome::kHeld);
  EXPECT_EQ(held->message, "in use by running VM win11; left on vfio-pci");
  EXPECT_EQ(DriverOf(dir.path(), kGpu), "vfio-pci\n");
  EXPECT_EQ(Override(dir.path(), kGpu), "vfio-pci");
  for (const auto& e : b.log) EXPECT_EQ(e.find("0000:17:00."), std::string::npos) << e;
  EXPECT_EQ(b.state.result, "degraded");
  for (const auto& e : b.state.errors) EXPECT_NE(e.where, kGpu) << e.message;
  bool warned = false;
  for (const auto& w : b.state.warnings) warned = warned || w.where == kGpu;
  EXPECT_TRUE(warned);
}

TEST(RestoreRecordTest, ADriverNameThatIsAPathIsRefusedAndNothingIsTouched) {
  TempDir dir;
  BuildGpuServer(dir.path());
  ApplyWith(dir.path(), plan::Policy());
  const std::string record = dir.path() + "/var/lib/gpuhost/original-drivers.json";
  std::string text = *ReadFileAt(record);
  size_t at = text.find("\"nvidia\"");
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, 8, "\"../../x\"");
  ASSERT_TRUE(WriteFileAtomic(record, text, 0644).ok());
  FakeKernelFs fs(dir.path());
  auto results = apply::Restore(fs, CollectFromRoot(dir.path()), "/var/lib/gpuhost");
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kFailed);
  EXPECT_NE(results[0].message.find("\"../../x\") is not a kernel driver name"), std::string::npos)
      << results[0].message;
  EXPECT_TRUE(fs.log().empty()) << fs.log()[0];
  EXPECT_EQ(DriverOf(dir.path(), kGpu), "vfio-pci\n");
  EXPECT_EQ(*ReadFileAt(record), text) << "the record is left as it is";
  EXPECT_TRUE(apply::IsDriverName("snd_hda_intel"));
  EXPECT_FALSE(apply::IsDriverName("a/b"));
  EXPECT_FALSE(apply::IsDriverName(".."));
}

// The record apply writes before each bind, found corrupt (a disk that
// filled, a hand edit): before, it was read as {} and rewritten with the one
// new entry, losing the drivers of every function moved before. Now the
// bind fails naming the file, moves nothing, and the file stays as it was;
// restore refuses it the same way.
TEST(RestoreRecordTest, ACorruptRecordIsAnErrorNamingItAndIsNeverOverwritten) {
  TempDir dir;
  BuildGpuServer(dir.path());
  const std::string record = dir.path() + "/var/lib/gpuhost/original-drivers.json";
  for (const std::string& corrupt :
       {std::string("{\"0000:81:00.0\": \"amdgpu\", \"0000:17:0"), std::string("[]\n"),
        std::string("{\"0000:81:00.0\": 7}\n"), std::string("\0\xff\n", 3)}) {
    ASSERT_TRUE(MakeDirs(dir.path() + "/var/lib/gpuhost").ok());
    ASSERT_TRUE(WriteFileAtomic(record, corrupt, 0644).ok());
    AgentRun a = ApplyWith(dir.path(), plan::Policy());  // policy A: the GPU to vfio
    const auto* bind = Find(a.state, plan::ActionKind::kBindVfio, kGpu);
    ASSERT_NE(bind, nullptr);
    EXPECT_EQ(bind->outcome, Outcome::kFailed);
    EXPECT_NE(bind->message.find("cannot record the original driver: invalid: "
                                 "/var/lib/gpuhost/original-drivers.json: "),
              std::string::npos)
        << bind->message;
    EXPECT_EQ(DriverOf(dir.path(), kGpu), "nvidia\n") << "not bound without its record";
    EXPECT_EQ(*ReadFileAt(record), corrupt) << "the record is left as it is";
    for (const auto& e : a.log) {
      EXPECT_EQ(e.find("original-drivers.json"), std::string::npos) << e;
    }

    FakeKernelFs fs(dir.path());
    auto results = apply::Restore(fs, CollectFromRoot(dir.path()), "/var/lib/gpuhost");
    ASSERT_EQ(results.size(), 1u);
    EXPECT_EQ(results[0].outcome, Outcome::kFailed);
    EXPECT_EQ(results[0].action.Target(), "/var/lib/gpuhost/original-drivers.json");
    EXPECT_NE(results[0].message.find("invalid: /var/lib/gpuhost/original-drivers.json: "),
              std::string::npos)
        << results[0].message;
    EXPECT_TRUE(fs.log().empty()) << fs.log()[0];
    EXPECT_EQ(*ReadFileAt(record), corrupt) << "the record is left as it is";
  }
}

}  // namespace
}  // namespace gpuhost::testing
