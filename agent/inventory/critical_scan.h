// Devices the host cannot lose: the disks' controllers of everything
// mounted, swap and active md/dm stacks (block_use.h), the NIC of every
// route, iSCSI HBAs (net_use.h), the boot console (boot_vga, which is also
// where fbcon draws: Debian's kernels map the console to the primary
// display) and consoles on PCI UARTs. The plan never moves them (or
// anything in their IOMMU group) to vfio-pci. Uses that cannot be read or
// tied to a device come back as UnknownUse: then no controller of that
// class moves.
#pragma once

#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

struct HostUse {
  std::vector<CriticalDevice> critical;  // sorted by address, then why
  std::vector<UnknownUse> unknown;
};

// Every unknown use is also a Warning (where: its source), never a guess.
HostUse ScanCriticalDevices(const Fs& fs, const std::vector<PciFunction>& fns,
                            std::vector<Warning>* warnings);

}  // namespace gpuhost::inventory
