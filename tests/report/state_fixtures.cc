#include "report/state_fixtures.h"

#include <gtest/gtest.h>

#include "base/fileio.h"
#include "base/strings.h"
#include "inventory/inventory_test_util.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {

using plan::Action;
using plan::ActionKind;
namespace act = plan::act;

std::string ThisBootId() {
  auto id = ReadFileAt("/proc/sys/kernel/random/boot_id");
  EXPECT_TRUE(id.ok()) << id.status().ToString();
  return id.ok() ? std::string(Trim(*id)) : std::string();
}

result::State H200State() {
  result::State s;
  s.agent_version = "0.1.0";
  s.boot_id = ThisBootId();
  s.run_id = s.boot_id + "/4242/1";
  s.started_at = "2026-11-25T10:00:00Z";
  s.finished_at = "2026-11-25T10:00:01.250Z";
  s.result = "degraded";
  s.inventory = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  // The capture predates swaps and IPv6 routes (its README): their two
  // "unknown" warnings are the inventory's business (real_data_test), not
  // what these report tests count.
  s.inventory.warnings.clear();
  s.inventory.host_use_unknown.clear();
  auto gpu = *inventory::PciAddress::Parse("0000:00:06.0");
  s.plan.gpus.push_back({gpu,
                         {gpu},
                         plan::Assignment::kVfio,
                         "policy gpus[0] (H200 for VMs)",
                         "Policy rule gpus[0] matches 10de:2335: the GPU is handed to VMs.",
                         false});
  s.plan.kernel_params = {"intel_iommu=on", "iommu=pt"};
  std::vector<Action> planned = {
      {act::LoadModule{"vfio_pci", ""}, "GPUs go to VMs through vfio-pci."},
      {act::BindVfio{gpu, "nvidia"}, "Policy rule gpus[0]."},
      {act::SetSysctl{"kernel.kptr_restrict", "2"}, "Baseline hardening."},
      {act::KernelParam{"intel_iommu=on", plan::ParamState::kMissing},
       "The IOMMU must be on for vfio."},
  };
  s.plan.actions = planned;
  for (size_t i = 0; i < planned.size(); ++i) {
    s.actions.push_back(
        {planned[i], result::Outcome::kDone, "", static_cast<int64_t>(1500 * (i + 1))});
  }
  s.actions[1].message = "read back: vfio-pci";
  s.checks = {
      {"module vfio_pci", "loaded", "loaded", true},
      {"kernel.kptr_restrict", "2", "2", true},
      {"kernel.dmesg_restrict", "1", "0", false},
  };
  s.kernel_params_missing = {"intel_iommu=on", "iommu=pt"};
  s.reboot_requested = true;
  s.warnings = {{"0000:00:06.0", "no reset_method: one VM start per host boot"}};
  s.timings_us = {{"inventory", 41000}, {"plan", 350}, {"apply", 812000}, {"total", 853350}};
  return s;
}

result::State GpuServerState(const std::string& scratch_dir) {
  BuildGpuServer(scratch_dir);
  result::State s;
  s.agent_version = "0.1.0";
  s.boot_id = ThisBootId();
  s.run_id = s.boot_id + "/4242/1";
  s.started_at = "2026-11-25T10:00:00Z";
  s.finished_at = "2026-11-25T10:00:02Z";
  s.result = "ok";
  s.inventory = CollectFromRoot(scratch_dir);
  s.plan = plan::MakePlan(s.inventory, plan::Policy());
  for (const auto& a : s.plan.actions) s.actions.push_back({a, result::Outcome::kDone, "", 1200});
  for (const auto& a : s.plan.actions) {
    if (a.Kind() == ActionKind::kLoadModule)
      s.checks.push_back({"module " + a.Target(), "loaded", "loaded", true});
    if (a.Kind() == ActionKind::kSetSysctl)
      s.checks.push_back({a.Target(), a.Value(), a.Value(), true});
  }
  s.timings_us = {{"inventory", 52000}, {"plan", 410}, {"apply", 1210000}, {"total", 1262410}};
  return s;
}

report::View Loaded(result::State s) {
  report::View v;
  v.source = report::View::Source::kLoaded;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.hostname = "h200";
  v.build = {"0.1.0", "3.0.19"};
  v.boot_id = s.boot_id;
  v.state = std::move(s);
  return v;
}

void WriteState(const std::string& dir, const result::State& s) {
  Status w = WriteFileAtomic(dir + "/state.json", result::StateToJson(s).dump(2) + "\n", 0644);
  ASSERT_TRUE(w.ok()) << w.ToString();
}

}  // namespace gpuhost::testing
