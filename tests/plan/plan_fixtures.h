// Machines for the plan and apply tests, written as sysfs fixture trees.
#pragma once

#include <string>

namespace gpuhost::testing {

// A two-socket GPU server: ASPEED BMC VGA (boot VGA, group 1), two
// identical NVIDIA L40S GPUs with HDMI audio (groups 2 and 3, NUMA 0 and
// 1), a Turing card with four functions (group 4), an AMD GPU sharing
// group 5 with an Intel NIC, NVMe root disk (group 6), the management NIC
// (group 7, default route eth0). Intel IOMMU on (DMAR), VT-x.
void BuildGpuServer(const std::string& root);

}  // namespace gpuhost::testing
