// The inventory stage: everything the plan needs to know about the machine.
#pragma once

#include "host/fs.h"
#include "inventory/model.h"
#include "inventory/pci_scan.h"

namespace gpuhost::inventory {

// Builds the whole inventory from `fs` (or from a PCI dump, see PciSource).
// Never fails as a whole: what cannot be read becomes a Warning. Returns an
// error only when no PCI access works at all; `inv` still holds the rest.
Status Collect(const Fs& fs, const PciSource& source, Inventory* inv);

}  // namespace gpuhost::inventory
