// What of a policy only the host can judge, checked before any plan is made:
// a policy that does not fit is refused as a whole, like a malformed one.
// Pure: MemTotal comes from the inventory (/proc/meminfo read through Fs).
#pragma once

#include <cstdint>

#include "base/status.h"
#include "inventory/model.h"
#include "plan/policy.h"

namespace gpuhost::plan {

// What the host keeps for itself beside hugepages: the kernel, the agent,
// libvirt and each VM's qemu need ordinary pages. docs/policy.md.
uint64_t HostReserveKib(uint64_t mem_total_kib);

// Invalid, with the count's file:line:col, when the hugepages asked for do
// not leave HostReserveKib() of MemTotal, or MemTotal is unknown.
Status CheckPolicyFits(const Policy& policy, const inventory::Inventory& inv);

}  // namespace gpuhost::plan
