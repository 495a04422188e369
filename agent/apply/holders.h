// Who holds a PCI function: processes with its device nodes open
// (/dev/dri/cardN and renderDN, /dev/nvidiaN, /dev/snd/*CN*, /dev/vfio/G),
// nvidia-persistenced for NVIDIA GPUs, and what the host keeps on its disks:
// mounted file systems, swap, md/dm stacks (inventory/block_use.h, the same
// facts the plan's critical devices come from).
// Unbinding a held function hangs or breaks its user: apply leaves it alone.
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::apply {

struct Holder {
  int pid = 0;       // 0 for a use by the kernel
  std::string name;  // process name (/proc/PID/comm), or "mount", "swap", "stack"
  // The node or mount point: "/dev/dri/card1", "/data"; for swap and stack
  // the whole use: "/dev/sda2 used as swap".
  std::string what;
};

// The driver bound to the function now (basename of its `driver` link),
// "" when none.
std::string CurrentDriver(const Fs& fs, const inventory::PciAddress& a);

// "pid 812 (Xorg) has /dev/dri/card1 open", "file system mounted on /data",
// "/dev/sdb in dm-4 (vg-vm1), active"
std::string Describe(const Holder& h);

// Device nodes of one function, from its sysfs directory and
// /proc/driver/nvidia/gpus/ADDR/information.
std::vector<std::string> DeviceNodes(const Fs& fs, const inventory::PciFunction& f);

std::vector<Holder> FindHolders(const Fs& fs, const inventory::PciFunction& f);

}  // namespace gpuhost::apply
