// PCI functions through libpci, enriched from sysfs attributes that libpci
// does not read (boot_vga, reset_method) and checked for garbage.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

struct PciSource {
  // Empty: libpci's sysfs method on fs's /sys/bus/pci. Else an `lspci -x`
  // style dump read with libpci's dump method (no sysfs attributes then).
  std::string dump_file;
  // pci.ids location; empty for libpci's default.
  std::string pci_ids;
};

// Every function libpci finds, sorted by address. A function whose
// attributes are missing or garbage is still listed, with a Warning naming
// it; only a scan that finds no way to read PCI at all returns an error.
Result<std::vector<PciFunction>> ScanPci(const Fs& fs, const PciSource& source,
                                         std::vector<Warning>* warnings);

}  // namespace gpuhost::inventory
