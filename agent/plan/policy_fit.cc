#include "plan/policy_fit.h"

#include <algorithm>
#include <string>

namespace gpuhost::plan {
namespace {

constexpr uint64_t kGiB = 1024 * 1024;  // in KiB

// "1.5 GiB" with one decimal.
std::string Gib(uint64_t kib) {
  uint64_t tenths = kib * 10 / kGiB;
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " GiB";
}

}  // namespace

uint64_t HostReserveKib(uint64_t mem_total_kib) { return std::max(2 * kGiB, mem_total_kib / 16); }

Status CheckPolicyFits(const Policy& policy, const inventory::Inventory& inv) {
  if (policy.hugepages == 0 || policy.hugepage_size_kib == 0) return Status::Ok();
  const uint64_t total = inv.system.memory.total_kib;
  const std::string asked = "hugepages: " + std::to_string(policy.hugepages) + " pages of " +
                            (policy.hugepage_size_kib == 2048 ? "2M" : "1G");
  if (total == 0) {
    return Status::Invalid(policy.hugepages_where + asked +
                           ": MemTotal is unknown (no /proc/meminfo), so they cannot be checked "
                           "to fit; refused");
  }
  const uint64_t usable = total > HostReserveKib(total) ? total - HostReserveKib(total) : 0;
  // Compared as a page count, so no product can overflow.
  if (policy.hugepages > usable / policy.hugepage_size_kib) {
    return Status::Invalid(policy.hugepages_where + asked + " do not fit: MemTotal is " +
                           Gib(total) + " and the host keeps " + Gib(HostReserveKib(total)) +
                           " (2 GiB or 1/16 of it, whichever is more), so at most " +
                           std::to_string(usable / policy.hugepage_size_kib) + " pages");
  }
  return Status::Ok();
}

}  // namespace gpuhost::plan
