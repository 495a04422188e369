#include "inventory/inventory.h"

#include "inventory/critical_scan.h"
#include "inventory/gpu.h"
#include "inventory/system_scan.h"

namespace gpuhost::inventory {

Status Collect(const Fs& fs, const PciSource& source, Inventory* inv) {
  *inv = Inventory();
  inv->source = source.dump_file.empty()
                    ? "sysfs:" + (fs.root().empty() ? std::string("/") : fs.root())
                    : "dump:" + source.dump_file;
  Status status;
  if (source.dump_file.empty()) {
    inv->system = ScanSystem(fs, &inv->warnings);
    inv->iommu_groups = ScanIommuGroups(fs, &inv->warnings);
  }
  auto functions = ScanPci(fs, source, &inv->warnings);
  if (functions.ok()) {
    inv->functions = std::move(*functions);
  } else {
    status = functions.status();
    inv->warnings.push_back({"inventory", "no PCI functions: " + status.ToString()});
  }
  ClassifyGpus(inv);
  if (source.dump_file.empty()) {
    HostUse use = ScanCriticalDevices(fs, inv->functions, &inv->warnings);
    inv->critical = std::move(use.critical);
    inv->host_use_unknown = std::move(use.unknown);
  }
  // A function in a group's devices/ but without its own iommu_group link
  // (or the reverse) means the tree is inconsistent: say so, trust the group.
  for (const auto& g : inv->iommu_groups) {
    for (const auto& m : g.members) {
      const PciFunction* f = inv->Find(m);
      if (f == nullptr) {
        inv->warnings.push_back({m.ToString(), "listed in IOMMU group " + std::to_string(g.id) +
                                                   " but not found on the PCI bus"});
      } else if (f->iommu_group != g.id) {
        inv->warnings.push_back({m.ToString(), "IOMMU group " + std::to_string(g.id) +
                                                   " lists it, its own link disagrees"});
      }
    }
  }
  return status;
}

}  // namespace gpuhost::inventory
