// The plan stage: a pure function of inventory and policy. No file system,
// no clock, no libraries that touch the machine: the same inputs give the
// same plan, byte for byte.
#pragma once

#include "inventory/model.h"
#include "plan/model.h"
#include "plan/policy.h"

namespace gpuhost::plan {

// The IOMMU parameter the firmware asks for: "intel_iommu=on" with an ACPI
// DMAR table; none with IVRS (the AMD IOMMU is on by default).
std::vector<std::string> WantedKernelParams(const inventory::Inventory& inv, const Policy& policy);

// "boot framebuffer BOOTFB (...) lies in BAR 1 of 0000:01:00.0" for each
// GPU going to vfio whose BARs overlap a firmware framebuffer.
std::vector<std::string> FramebufferConflicts(const inventory::Inventory& inv,
                                              const std::vector<GpuDecision>& gpus);

Plan MakePlan(const inventory::Inventory& inv, const Policy& policy);

}  // namespace gpuhost::plan
