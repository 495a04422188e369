// Small readers shared by the apply test files: a function's driver in a
// fixture tree, and one action's result in a run's state.
#pragma once

#include <string>

#include "apply/apply.h"
#include "support/test_env.h"

namespace gpuhost::testing {

// The driver a fixture tree's function is bound to, as basename(1) prints it
// ("vfio-pci\n"; ".\n" or "" when it has none).
inline std::string DriverOf(const std::string& root, const std::string& addr) {
  return RunCommand("basename \"$(readlink '" + root + "/sys/bus/pci/devices/" + addr +
                    "/driver')\"");
}

// The result of the action of kind `k` on target `t`, or nullptr.
inline const result::ActionResult* Find(const result::State& s, plan::ActionKind k,
                                        const std::string& t) {
  for (const auto& a : s.actions) {
    if (a.action.Kind() == k && a.action.Target() == t) return &a;
  }
  return nullptr;
}

}  // namespace gpuhost::testing
