// Small pieces shared by the apply test files: a function's driver and
// override in a fixture tree, one action's result in a run's state, a
// command runner that runs nothing, and one agent run on a fixture tree.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "apply/apply.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "inventory/inventory_test_util.h"
#include "plan/plan.h"
#include "support/fake_kernel_fs.h"
#include "support/test_env.h"

namespace gpuhost::testing {

// The driver a fixture tree's function is bound to, as basename(1) prints it
// ("vfio-pci\n"; ".\n" or "" when it has none).
inline std::string DriverOf(const std::string& root, const std::string& addr) {
  return RunCommand("basename \"$(readlink '" + root + "/sys/bus/pci/devices/" + addr +
                    "/driver')\"");
}

// A fixture tree's driver_override for the function, trimmed.
inline std::string Override(const std::string& root, const std::string& addr) {
  return std::string(Trim(*ReadFileAt(root + "/sys/bus/pci/devices/" + addr + "/driver_override")));
}

// The result of the action of kind `k` on target `t`, or nullptr.
inline const result::ActionResult* Find(const result::State& s, plan::ActionKind k,
                                        const std::string& t) {
  for (const auto& a : s.actions) {
    if (a.action.Kind() == k && a.action.Target() == t) return &a;
  }
  return nullptr;
}

// Commands (udevadm, update-grub, systemctl) that succeed and do nothing.
class NoCommands : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>&, int) override { return Status::Ok(); }
};

// A policy that keeps the GPU at `address` (and its companions) on the host.
inline plan::Policy KeepGpuOnHost(const std::string& address) {
  plan::Policy p;
  plan::GpuRule rule;
  rule.match.address = inventory::PciAddress::Parse(address);
  rule.assign = plan::Assignment::kHost;
  rule.name = "gpus[0]";
  p.gpus.push_back(rule);
  return p;
}

struct AgentRun {
  result::State state;
  std::vector<std::string> log;  // FakeKernelFs's mutating calls, in order
};

// One apply on the fixture tree at `root` (inventory, plan, apply), dying at
// mutating call `die_at` when it is not 0; `edit` changes the inventory first.
inline AgentRun ApplyWith(const std::string& root, const plan::Policy& policy, int die_at = 0,
                          const std::function<void(inventory::Inventory*)>& edit = nullptr) {
  FakeKernelFs fs(root);
  fs.set_die_at(die_at);
  FakeModuleLoader modules(fs);
  NoCommands commands;
  inventory::Inventory inv = CollectFromRoot(root);
  if (edit) edit(&inv);
  apply::Env env{fs, modules, commands, nullptr, nullptr};
  apply::Options opts;
  AgentRun r{apply::Apply(inv, plan::MakePlan(inv, policy), env, opts), {}};
  r.log = fs.log();
  return r;
}

}  // namespace gpuhost::testing
