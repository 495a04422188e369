#include "inventory/text.h"

#include <algorithm>

#include "base/strings.h"
#include "inventory/redact.h"

namespace gpuhost::inventory {
namespace {

// A left-aligned table; the last column is never padded.
class Table {
 public:
  explicit Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  std::string Render(const std::string& indent) const {
    std::vector<size_t> width;
    for (const auto& r : rows_) {
      if (width.size() < r.size()) width.resize(r.size(), 0);
      for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
    }
    std::string out;
    for (const auto& r : rows_) {
      std::string line = indent;
      for (size_t i = 0; i < r.size(); ++i) {
        line += r[i];
        if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

std::string OrDash(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }
std::string OrDash(const std::optional<std::string>& v) { return v ? *v : "-"; }
std::string OrDash(const std::string& v) { return v.empty() ? "-" : v; }

std::string Name(const PciFunction& f) {
  std::string n = f.vendor_name.empty() ? "" : f.vendor_name + " ";
  n += f.device_name.empty() ? "Device " + Hex(f.device_id, 4) : f.device_name;
  return n;
}

std::string Ids(const PciFunction& f) { return Hex(f.vendor_id, 4) + ":" + Hex(f.device_id, 4); }

std::string GiB(uint64_t kib) {
  uint64_t tenths = kib * 10 / (1024 * 1024);
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + " GiB";
}

}  // namespace

std::string ToText(const Inventory& inv) {
  const System& s = inv.system;
  std::string out;
  out += "Source:      " + inv.source + "\n";
  if (!StartsWith(inv.source, "dump:")) {
    std::string virt = s.cpu.virtualization.empty() ? "no VT-x/AMD-V" : s.cpu.virtualization;
    out += "CPU:         " + OrDash(s.cpu.model) + " (" + OrDash(s.cpu.vendor) + ", " +
           std::to_string(s.cpu.logical_cpus) + " logical, " + virt + ")\n";
    out += "KVM:         /dev/kvm " + std::string(s.kvm_device ? "present" : "missing") +
           (inv.virt.kvm_usable           ? ", usable"
            : inv.virt.kvm_reason.empty() ? ""
                                          : ", not usable: " + inv.virt.kvm_reason) +
           "\n";
    if (inv.virt.libvirt_connected) {
      out += "libvirt:     " + inv.virt.libvirt_uri + ", " +
             std::to_string(inv.virt.domains.size()) + " VM(s)";
      for (const auto& d : inv.virt.domains) out += " " + d.name + "(" + d.state + ")";
      out += "\n";
    } else if (!inv.virt.libvirt_error.empty()) {
      out += "libvirt:     not connected: " + inv.virt.libvirt_error + "\n";
    }
    std::string units;
    for (const auto& u : s.iommu.units) units += (units.empty() ? "" : ", ") + u;
    out += "IOMMU:       " + std::string(s.iommu.enabled ? "on (" + units + ")" : "off") +
           ", ACPI table " + OrDash(s.iommu.firmware_table) + ", " +
           std::to_string(inv.iommu_groups.size()) + " groups\n";
    out += "Kernel:      " + OrDash(s.kernel_release) + "\n";
    out += "Cmdline:     " + OrDash(RedactCmdline(s.cmdline)) + "\n";
    out += "Memory:      " + GiB(s.memory.total_kib) + ", hugepages " +
           std::to_string(s.memory.hugepages_free) + " free of " +
           std::to_string(s.memory.hugepages_total) + " x " +
           std::to_string(s.memory.hugepage_size_kib) + " KiB\n";
  }
  out += "\nGPUs (" + std::to_string(inv.gpus.size()) + ")\n";
  if (inv.gpus.empty()) {
    out += "  none found\n";
  } else {
    Table t({"ADDRESS", "KIND", "IDS", "DRIVER", "GROUP", "NUMA", "BOOT", "RESET", "NAME"});
    for (const auto& g : inv.gpus) {
      const PciFunction* f = inv.Find(g.address);
      std::string reset;
      for (const auto& m : f->reset_methods) reset += (reset.empty() ? "" : ",") + m;
      // Without a reset the GPU can be handed to a VM once per host boot.
      if (reset.empty()) reset = "none:1-start/boot";
      t.Add({g.address.ToString(), g.kind, Ids(*f), OrDash(f->driver), OrDash(g.iommu_group),
             OrDash(g.numa_node), g.boot_vga ? "yes" : "", reset, Name(*f)});
      for (const auto& c : g.companions) {
        const PciFunction* cf = inv.Find(c);
        t.Add({"  + " + c.ToString(), "", Ids(*cf), OrDash(cf->driver), OrDash(cf->iommu_group), "",
               "", "", cf->class_name.empty() ? Name(*cf) : cf->class_name});
      }
    }
    out += t.Render("  ");
  }
  if (!inv.nvswitches.empty()) {
    out += "\nNVSwitches: ";
    for (const auto& a : inv.nvswitches) out += a.ToString() + " ";
    out += "\n";
  }
  out += "\nPCI functions (" + std::to_string(inv.functions.size()) + ")\n";
  Table t({"ADDRESS", "CLASS", "IDS", "REV", "DRIVER", "GROUP", "NUMA", "NAME"});
  for (const auto& f : inv.functions) {
    t.Add({f.address.ToString(), Hex(f.class_id, 4), Ids(f), Hex(f.revision, 2), OrDash(f.driver),
           OrDash(f.iommu_group), OrDash(f.numa_node), Name(f)});
  }
  out += t.Render("  ");
  if (!inv.iommu_groups.empty()) {
    out += "\nIOMMU groups (" + std::to_string(inv.iommu_groups.size()) + ")\n";
    for (const auto& g : inv.iommu_groups) {
      std::string members;
      for (const auto& m : g.members) members += " " + m.ToString();
      out += "  " + std::to_string(g.id) + " [" + OrDash(g.type) + "]:" + members + "\n";
    }
  }
  if (!inv.critical.empty()) {
    out += "\nHost needs (" + std::to_string(inv.critical.size()) + ")\n";
    for (const auto& c : inv.critical) out += "  " + c.address.ToString() + ": " + c.why + "\n";
  }
  if (!inv.warnings.empty()) {
    out += "\nWarnings (" + std::to_string(inv.warnings.size()) + ")\n";
    for (const auto& w : inv.warnings) out += "  " + w.where + ": " + w.message + "\n";
  }
  return out;
}

}  // namespace gpuhost::inventory
