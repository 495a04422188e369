// Who holds a PCI function: processes with its device nodes open
// (/dev/dri/cardN and renderDN, /dev/nvidiaN, /dev/snd/*CN*, /dev/vfio/G),
// nvidia-persistenced for NVIDIA GPUs, and mounted file systems on its disks.
// Unbinding a held function hangs or breaks its user: apply leaves it alone.
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::apply {

struct Holder {
  int pid = 0;       // 0 for a mount
  std::string name;  // process name (/proc/PID/comm) or "mount"
  std::string what;  // the node or mount point: "/dev/dri/card1", "/data"
};

// The driver bound to the function now (basename of its `driver` link),
// "" when none.
std::string CurrentDriver(const Fs& fs, const inventory::PciAddress& a);

// "pid 812 (Xorg) has /dev/dri/card1 open"
std::string Describe(const Holder& h);

// Device nodes of one function, from its sysfs directory and
// /proc/driver/nvidia/gpus/ADDR/information.
std::vector<std::string> DeviceNodes(const Fs& fs, const inventory::PciFunction& f);

std::vector<Holder> FindHolders(const Fs& fs, const inventory::PciFunction& f);

}  // namespace gpuhost::apply
