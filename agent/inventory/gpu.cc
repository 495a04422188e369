#include "inventory/gpu.h"

namespace gpuhost::inventory {
namespace {

const char* GpuKind(uint16_t class_id) {
  switch (class_id) {
    case 0x0300:
      return "vga";
    case 0x0302:
      return "3d";
    default:
      return "display";
  }
}

}  // namespace

void ClassifyGpus(Inventory* inv) {
  inv->gpus.clear();
  inv->nvswitches.clear();
  for (const auto& f : inv->functions) {
    if (f.role == Role::kNvSwitch) inv->nvswitches.push_back(f.address);
    if (f.role != Role::kGpu) continue;
    Gpu g;
    g.address = f.address;
    g.kind = GpuKind(f.class_id);
    g.boot_vga = f.boot_vga;
    g.iommu_group = f.iommu_group;
    g.numa_node = f.numa_node;
    g.vendor_name = f.vendor_name;
    g.model = f.device_name;
    inv->gpus.push_back(std::move(g));
  }
  for (auto& f : inv->functions) {
    if (f.role == Role::kGpu || f.role == Role::kBridge) continue;
    for (auto& g : inv->gpus) {
      // Only function 0's slot-mates: a GPU at .2 of an unrelated
      // multi-function root-complex device does not adopt its siblings.
      if (g.address.function == 0 && f.address.SameSlot(g.address)) {
        g.companions.push_back(f.address);
        if (f.role == Role::kOther) f.role = Role::kGpuCompanion;
        break;
      }
    }
  }
}

}  // namespace gpuhost::inventory
