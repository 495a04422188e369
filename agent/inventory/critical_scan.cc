#include "inventory/critical_scan.h"

#include <algorithm>

#include "base/strings.h"
#include "inventory/block_use.h"
#include "inventory/device_path.h"
#include "inventory/net_use.h"

namespace gpuhost::inventory {
namespace {

// Consoles the kernel writes to (/sys/class/tty/console/active: "tty0
// ttyS4") that sit on a PCI function: a serial port on a PCI UART. The VT
// (tty0) is virtual; its screen is the boot VGA's.
void Consoles(const Fs& fs, std::vector<CriticalDevice>* out) {
  auto active = fs.Read("/sys/class/tty/console/active");
  if (!active.ok()) return;
  for (const auto& name : Split(std::string(Trim(*active)), ' ')) {
    if (name.empty()) continue;
    auto dir = ClassDevice(fs, "/sys/class/tty/" + name);
    if (!dir.ok()) continue;
    if (auto a = DeepestPci(*dir)) {
      out->push_back({*a, (StartsWith(name, "ttyS") ? "serial console " : "console ") + name});
    }
  }
}

}  // namespace

HostUse ScanCriticalDevices(const Fs& fs, const std::vector<PciFunction>& fns,
                            std::vector<Warning>* warnings) {
  HostUse out;
  BlockUses block = ScanBlockUses(fs);
  for (const auto& u : block.uses) out.critical.push_back({u.controller, u.why});
  out.unknown = std::move(block.unknown);
  NetUses net = ScanNetUses(fs);
  out.critical.insert(out.critical.end(), net.critical.begin(), net.critical.end());
  out.unknown.insert(out.unknown.end(), net.unknown.begin(), net.unknown.end());
  Consoles(fs, &out.critical);
  for (const auto& f : fns) {
    if (f.boot_vga) out.critical.push_back({f.address, "boot console (boot_vga)"});
  }
  std::sort(out.critical.begin(), out.critical.end(),
            [](const CriticalDevice& a, const CriticalDevice& b) {
              return a.address != b.address ? a.address < b.address : a.why < b.why;
            });
  out.critical.erase(std::unique(out.critical.begin(), out.critical.end(),
                                 [](const CriticalDevice& a, const CriticalDevice& b) {
                                   return a.address == b.address && a.why == b.why;
                                 }),
                     out.critical.end());
  for (const auto& u : out.unknown) {
    warnings->push_back({u.source, std::string("host use unknown, no ") +
                                       UseClassName(u.use_class) +
                                       " controller moves to vfio-pci: " + u.why});
  }
  return out;
}

}  // namespace gpuhost::inventory
