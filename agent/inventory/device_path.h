// Where a kernel object sits on the PCI bus, read from its sysfs path.
#pragma once

#include <optional>
#include <string>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

// The deepest PCI address in a sysfs device path: the controller nearest to
// the disk, interface or UART (the ones above it are bridges). None for
// virtual devices (/sys/devices/virtual/..., platform devices).
std::optional<PciAddress> DeepestPci(const std::string& path);

// The device directory a class link points at ("/sys/class/block/sda" ->
// "/sys/devices/pci0000:00/.../block/sda"); NotFound when there is no link.
Result<std::string> ClassDevice(const Fs& fs, const std::string& link);

}  // namespace gpuhost::inventory
