// The readers of /proc and /sys text: cpuinfo, meminfo, iomem, cmdline,
// osrelease, node cpulists, IOMMU groups, the host-use scan (mountinfo,
// swaps, block-device links, slaves/holders, ZFS kstat, both route tables,
// net links and lower_*, nbd, iSCSI, console), DRM/sound/nvidia device
// nodes and /proc/PID/fd (holders). Every
// file comes from the fuzz input (a MemFs bundle); the result is rendered
// as `gpuhost-agent inventory` shows it.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "apply/holders.h"
#include "base/path.h"
#include "inventory/critical_scan.h"
#include "inventory/system_scan.h"
#include "inventory/text.h"
#include "libvirt/virt.h"
#include "mem_fs.h"

using namespace gpuhost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::MemFs fs(std::string_view(reinterpret_cast<const char*>(data), size));
  inventory::Inventory inv;
  inv.source = "sysfs:/fuzz";
  inv.system = inventory::ScanSystem(fs, &inv.warnings);
  inv.iommu_groups = inventory::ScanIommuGroups(fs, &inv.warnings);
  for (const auto& [node, cpus] : inv.system.numa_cpus) virt::CountCpus(cpus);

  // The PCI functions the bundle names, as the scan would list them, with
  // the driver and group their links give.
  if (auto devs = fs.List("/sys/bus/pci/devices"); devs.ok()) {
    for (const auto& name : *devs) {
      auto a = inventory::PciAddress::Parse(name);
      if (!a) continue;
      inventory::PciFunction f;
      f.address = *a;
      if (auto d = apply::CurrentDriver(fs, *a); !d.empty()) f.driver = d;
      for (const auto& g : inv.iommu_groups) {
        for (const auto& m : g.members) {
          if (m == *a) f.iommu_group = g.id;
        }
      }
      f.boot_vga = fs.Read("/sys/bus/pci/devices/" + name + "/boot_vga").value_or("") == "1\n";
      inv.functions.push_back(f);
    }
  }
  inventory::HostUse use = inventory::ScanCriticalDevices(fs, inv.functions, &inv.warnings);
  inv.critical = std::move(use.critical);
  inv.host_use_unknown = std::move(use.unknown);
  for (const auto& f : inv.functions) inv.UnknownUseWhy(f.class_id);
  for (const auto& f : inv.functions) {
    for (const auto& h : apply::FindHolders(fs, f)) apply::Describe(h);
  }
  for (const auto& p : fs.Paths()) {
    if (auto t = fs.ReadLink(p); t.ok()) ResolveLink(p, *t);
  }
  inventory::ToText(inv);
  return 0;
}
