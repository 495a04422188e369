// Devices the host cannot lose: the root disk's controller, the NIC of the
// default route, the boot console. The plan never moves them (or anything
// in their IOMMU group) to vfio-pci.
#pragma once

#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

// Reads /proc/self/mountinfo, /sys/dev/block, /proc/net/route and
// /sys/class/net. What cannot be resolved is a Warning, never a guess.
std::vector<CriticalDevice> ScanCriticalDevices(const Fs& fs, const std::vector<PciFunction>& fns,
                                                std::vector<Warning>* warnings);

}  // namespace gpuhost::inventory
