// Which GPUs stay on the host and which go to vfio-pci, and why.
#pragma once

#include <vector>

#include "inventory/model.h"
#include "plan/model.h"
#include "plan/policy.h"

namespace gpuhost::plan {

struct Decisions {
  std::vector<GpuDecision> gpus;
  std::vector<GpuDecision> devices;  // from the policy's "devices" rules
  // Functions to bind to vfio-pci, in order: each GPU's functions, then
  // the endpoints that share its IOMMU group and must go with it.
  std::vector<std::pair<PciAddress, std::string>> vfio_functions;  // address, reason
  std::vector<Warning> warnings;
};

// Pure: first matching policy rule, else the default (the boot VGA stays on
// the host, every other GPU goes to vfio if its IOMMU group is viable).
// A group is viable when every endpoint in it can go to vfio together:
// bridges may stay; the boot console, the root disk's controller, the
// management NIC or a GPU kept on the host make it unviable.
Decisions DecideGpus(const inventory::Inventory& inv, const Policy& policy);

}  // namespace gpuhost::plan
