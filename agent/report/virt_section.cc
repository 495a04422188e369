#include "report/virt_section.h"

#include "report/page.h"
#include "report/virt_rows.h"

namespace gpuhost::report {
namespace {

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Tag(std::string_view text, std::string_view cls) {
  return "<span class=\"tag " + std::string(cls) + "\">" + Esc(text) + "</span>";
}

std::string Row(const char* key, const std::string& html) {
  return std::string("<dt>") + key + "</dt><dd>" + html + "</dd>";
}

std::string StateTag(const inventory::VirtDomain& vm) {
  if (vm.active) return Tag(vm.state, vm.state == "running" ? "ok" : "warn");
  return Tag(vm.state.empty() ? "unknown" : vm.state, "undecided");
}

std::string Libvirt(const VirtSource& src) {
  const auto& v = src.virt;
  std::string h = "<section id=\"virtualization\"><h2>Virtualization <small>";
  h += src.live ? "libvirt as serve reads it, unchanged since " + Esc(src.since)
                : "as the last run recorded it (" + Esc(src.since) + ")";
  h += "</small></h2><dl>";
  h += Row("KVM",
           v.kvm_usable ? Tag("usable", "ok") : Tag("not usable", "bad") + " " + Esc(v.kvm_reason));
  std::string lv = v.libvirt_connected ? Tag("connected", "ok") : Tag("not connected", "warn");
  lv += " <span class=\"mono\">" + Esc(v.libvirt_uri) + "</span>";
  if (!v.libvirt_error.empty()) lv += "<div class=\"rule\">" + Esc(v.libvirt_error) + "</div>";
  h += Row("libvirt", lv);
  if (v.libvirt_connected) {
    h += Row("Domain type", v.virt_type.empty() ? "-"
                            : v.virt_type == "kvm"
                                ? Tag("kvm", "ok")
                                : Tag(v.virt_type, "warn") + " (libvirt sees no KVM: emulation)");
    std::string hv = !v.hostdev_vfio   ? std::string("unknown")
                     : *v.hostdev_vfio ? Tag("supported", "ok")
                                       : Tag("not supported", "bad");
    h += Row("PCI hostdev (vfio)", hv);
  }
  h += "</dl></section>";
  return h;
}

std::string Vms(const State& s, const VirtSource& src) {
  std::string h = "<section id=\"vms\"><h2>VMs</h2>";
  if (!src.virt.libvirt_connected) {
    return h + "<p>Unknown: libvirt is not connected.</p></section>";
  }
  if (src.virt.domains.empty()) return h + "<p>No VM is defined.</p></section>";
  h += "<table><thead><tr><th>VM</th><th>State</th><th>PCI devices</th></tr></thead><tbody>";
  for (const auto& vm : src.virt.domains) {
    std::string devs;
    for (const auto& a : vm.hostdevs) {
      devs += (devs.empty() ? "" : "<br>") + Esc(DescribeHostdev(s, a));
    }
    h += "<tr><td class=\"mono\">" + Esc(vm.name) + "</td><td>" + StateTag(vm) +
         "</td><td class=\"mono\">" + (devs.empty() ? "-" : devs) + "</td></tr>";
  }
  return h + "</tbody></table></section>";
}

std::string VfioGpus(const State& s, const VirtSource& src) {
  auto rows = VfioGpuRows(s, src.virt);
  if (rows.empty()) return "";
  std::string h =
      "<section id=\"vfio-gpus\"><h2>GPUs for VMs <small>owner and a &lt;hostdev&gt; snippet "
      "for each</small></h2>";
  for (const auto& r : rows) {
    h += "<h3 class=\"mono\">" + Esc(r.gpu->address.ToString()) + " ";
    if (r.owner.empty()) {
      h += src.virt.libvirt_connected ? Tag("free", "ok") : Tag("owner unknown", "undecided");
    } else {
      h += Tag("VM " + r.owner + " (" + r.owner_state + ")", r.owner_active ? "vfio" : "undecided");
    }
    h += "</h3><p class=\"why\">" + Esc(r.snippet.advice) + "</p>";
    h += "<p class=\"rule\">In the VM's &lt;devices&gt; (virsh edit VM):</p>";
    h += "<pre class=\"snippet\">" + Esc(r.snippet.devices_xml) + "</pre>";
    if (!r.snippet.numa_xml.empty()) {
      h += "<p class=\"rule\">At the top level of the VM's &lt;domain&gt;:</p>";
      h += "<pre class=\"snippet\">" + Esc(r.snippet.numa_xml) + "</pre>";
    }
  }
  return h + "</section>";
}

}  // namespace

std::string RenderVirtSections(const View& v) {
  const State& s = *v.state;
  VirtSource src = EffectiveVirt(v);
  return Libvirt(src) + Vms(s, src) + VfioGpus(s, src);
}

}  // namespace gpuhost::report
