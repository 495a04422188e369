// Checks of single policy values that need more than a type: kernel
// parameters that would weaken the host, and status page addresses. Pure;
// each returns why the value is refused, or nullopt when it is fine.
// docs/policy.md lists what is refused and why.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpuhost::plan {

// One kernel command line token ("intel_iommu=on", "nokaslr").
std::optional<std::string> RefuseKernelParam(std::string_view param);

// One status_page.listen entry: "IPv4:PORT" or "[IPv6]:PORT", port 1-65535.
std::optional<std::string> RefuseListenAddress(std::string_view address);

}  // namespace gpuhost::plan
