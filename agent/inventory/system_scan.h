// Machine-wide facts: CPU and virtualisation, IOMMU, KVM, kernel, memory,
// and the machine's ids.
#pragma once

#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

// Reads /proc/cpuinfo, /proc/meminfo, /proc/cmdline, /proc/sys/kernel/osrelease,
// /sys/class/iommu, /sys/firmware/acpi/tables and /dev/kvm. Missing files
// leave their fields empty and add a Warning; nothing here is fatal. The ids
// (ScanIdentity) are the exception: absent is normal and warns of nothing.
System ScanSystem(const Fs& fs, std::vector<Warning>* warnings);

// IOMMU groups from /sys/kernel/iommu_groups/N/{devices,type}, sorted by id.
std::vector<IommuGroup> ScanIommuGroups(const Fs& fs, std::vector<Warning>* warnings);

}  // namespace gpuhost::inventory
