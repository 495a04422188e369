// Hardening that does not fight a GPU/KVM host (docs/hardening.md lists
// each setting and each waiver with its reason).
#pragma once

#include <string>
#include <vector>

#include "plan/policy.h"

namespace gpuhost::plan {

struct SysctlSetting {
  std::string key;  // "kernel.kptr_restrict"
  std::string value;
};

std::vector<SysctlSetting> HardeningSysctls(Hardening level);
// Modules nobody needs on a GPU/KVM host, kept from loading on demand.
std::vector<std::string> BlacklistedModules(Hardening level);

}  // namespace gpuhost::plan
