#include "report/page.h"

#include "base/strings.h"

namespace gpuhost::report {
namespace {

constexpr const char* kStyle = R"css(
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}
header{background:#1f2d3d;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:20px}
header p{margin:2px 0 0;opacity:.8}
main{padding:8px 28px 28px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:16px 0;padding:4px 16px 12px}
h2{font-size:16px;margin:12px 0 8px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f2;vertical-align:top}
th{font-weight:600;color:#4a5561;font-size:13px}
td.mono,span.mono{font-family:ui-monospace,monospace;font-size:13px}
.tag{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;font-weight:600}
.host{background:#e3f1e6;color:#1d6b34}.vfio{background:#e6ecfa;color:#2747a0}
.warn{background:#fff4e0;color:#8a5300}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}
dt{color:#4a5561}dd{margin:0}
)css";

std::string Cell(std::string_view s, bool mono = false) {
  return std::string(mono ? "<td class=\"mono\">" : "<td>") + HtmlEscape(s) + "</td>";
}

std::string OrDash(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }

}  // namespace

std::string HtmlEscape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string RenderPage(const inventory::Inventory& inv, const std::string& hostname) {
  const auto& sys = inv.system;
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                  "<title>gpuhost: " +
                  HtmlEscape(hostname) + "</title><style>" + kStyle + "</style></head><body>";
  h += "<header><h1>gpuhost &middot; " + HtmlEscape(hostname) + "</h1><p>" +
       HtmlEscape(sys.cpu.model) + " &middot; kernel " + HtmlEscape(sys.kernel_release) +
       "</p></header><main>";

  h += "<section><h2>Machine</h2><dl>";
  auto row = [&](const char* k, const std::string& v) {
    h += "<dt>" + std::string(k) + "</dt><dd>" + HtmlEscape(v) + "</dd>";
  };
  row("CPU", sys.cpu.vendor + ", " + std::to_string(sys.cpu.logical_cpus) + " logical CPUs, " +
                 (sys.cpu.virtualization.empty() ? "no VT-x/AMD-V" : sys.cpu.virtualization));
  row("KVM", sys.kvm_device ? "/dev/kvm present" : "/dev/kvm missing");
  row("IOMMU", (sys.iommu.enabled ? "on" : "off") + std::string(", ACPI table ") +
                   (sys.iommu.firmware_table.empty() ? "none" : sys.iommu.firmware_table) + ", " +
                   std::to_string(inv.iommu_groups.size()) + " groups");
  row("Memory", std::to_string(sys.memory.total_kib / 1024) + " MiB, hugepages " +
                    std::to_string(sys.memory.hugepages_total));
  row("Kernel command line", sys.cmdline);
  h += "</dl></section>";

  h += "<section><h2>GPUs</h2>";
  if (inv.gpus.empty()) {
    h += "<p>No GPU found.</p>";
  } else {
    h += "<table id=\"gpus\"><thead><tr><th>Address</th><th>Model</th><th>Kind</th>"
         "<th>Driver</th><th>IOMMU group</th><th>NUMA</th><th>Functions</th></tr></thead><tbody>";
    for (const auto& g : inv.gpus) {
      const auto* f = inv.Find(g.address);
      std::string funcs;
      for (const auto& c : g.companions) funcs += (funcs.empty() ? "" : " ") + c.ToString();
      h += "<tr>" + Cell(g.address.ToString(), true) +
           Cell((g.vendor_name.empty() ? "" : g.vendor_name + " ") +
                (g.model.empty() ? "Device " + Hex(f->device_id, 4) : g.model)) +
           Cell(g.kind + (g.boot_vga ? " (boot VGA)" : "")) + Cell(f->driver.value_or("none")) +
           Cell(OrDash(g.iommu_group)) + Cell(OrDash(g.numa_node)) +
           Cell(funcs.empty() ? "-" : funcs, true) + "</tr>";
    }
    h += "</tbody></table>";
  }
  h += "</section>";

  h += "<section><h2>IOMMU groups</h2>";
  if (inv.iommu_groups.empty()) {
    h += "<p>None: the IOMMU is off or absent.</p>";
  } else {
    h += "<table><thead><tr><th>Group</th><th>Type</th><th>Members</th></tr></thead><tbody>";
    for (const auto& g : inv.iommu_groups) {
      std::string members;
      for (const auto& m : g.members) {
        const auto* f = inv.Find(m);
        members += (members.empty() ? "" : ", ") + m.ToString() +
                   (f && f->driver ? " (" + *f->driver + ")" : "");
      }
      h += "<tr>" + Cell(std::to_string(g.id)) + Cell(g.type) + Cell(members, true) + "</tr>";
    }
    h += "</tbody></table>";
  }
  h += "</section>";

  if (!inv.warnings.empty()) {
    h += "<section><h2>Warnings</h2><table><tbody>";
    for (const auto& w : inv.warnings) {
      h += "<tr><td><span class=\"tag warn\">warning</span></td>" + Cell(w.where, true) +
           Cell(w.message) + "</tr>";
    }
    h += "</tbody></table></section>";
  }
  h += "</main></body></html>\n";
  return h;
}

}  // namespace gpuhost::report
