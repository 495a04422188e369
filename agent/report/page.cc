#include "report/page.h"

#include <cstdio>

#include "base/strings.h"
#include "inventory/redact.h"
#include "report/boot_section.h"
#include "report/freshness.h"
#include "report/nvidia_rows.h"
#include "report/policy_section.h"
#include "report/virt_section.h"

namespace gpuhost::report {
namespace {

constexpr const char* kStyle = R"css(
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#1b1f24;background:#f3f5f8}
header{background:#1f2d3d;color:#fff;padding:14px 28px;display:flex;align-items:center;gap:16px;flex-wrap:wrap}
header h1{margin:0;font-size:20px;font-weight:600}
header p{margin:0;opacity:.8;flex:1 1 300px}
main{padding:4px 28px 20px;max-width:1320px}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:0 16px}
.grid section{margin-top:14px}
section{background:#fff;border:1px solid #dde1e6;border-radius:6px;margin:14px 0 0;padding:2px 16px 12px;overflow-x:auto}
h2{font-size:15px;margin:10px 0 6px}
h2 small{font-weight:400;color:#5b6671}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #eef0f2;vertical-align:top}
th{font-weight:600;color:#4a5561;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
tr:last-child td{border-bottom:0}
.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12.5px}
.num{text-align:right;font-variant-numeric:tabular-nums}
.tag{display:inline-block;padding:1px 7px;border-radius:3px;font-size:12px;font-weight:600;white-space:nowrap}
.host{background:#e3f1e6;color:#1d6b34}.vfio{background:#e6ecfa;color:#2747a0}.undecided{background:#eceef1;color:#4a5561}
.ok{background:#e3f1e6;color:#1d6b34}.warn{background:#fff1d6;color:#8a5300}.bad{background:#fde4e4;color:#a01c1c}
header .tag{font-size:13px;padding:3px 10px}
.summary{display:flex;flex-wrap:wrap;gap:10px;margin:14px 0 0}
.summary div{background:#fff;border:1px solid #dde1e6;border-radius:6px;padding:8px 14px;min-width:130px}
.summary strong{display:block;font-size:20px}.summary span{color:#5b6671;font-size:12px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:3px 16px;margin:0}
dt{color:#4a5561}dd{margin:0;overflow-wrap:anywhere}
.why{color:#3b4550}.rule{color:#6b7580;font-size:12px}
footer{color:#5b6671;font-size:12px;padding:14px 28px 24px}
h3{font-size:14px;margin:12px 0 4px}
pre.snippet{background:#f6f8fa;border:1px solid #dde1e6;border-radius:4px;padding:8px 10px;margin:4px 0 8px;font-size:12.5px;user-select:all;overflow-x:auto}
footer a{color:#2747a0}
)css";

// Appends HTML; Text() escapes, Raw() does not.
class Html {
 public:
  Html& Raw(std::string_view s) {
    out_ += s;
    return *this;
  }
  Html& Text(std::string_view s) {
    out_ += HtmlEscape(s);
    return *this;
  }
  Html& Td(std::string_view s, const char* cls = nullptr) {
    out_ += cls ? std::string("<td class=\"") + cls + "\">" : std::string("<td>");
    return Text(s).Raw("</td>");
  }
  Html& Tag(std::string_view text, std::string_view cls) {
    return Raw("<span class=\"tag ").Raw(cls).Raw("\">").Text(text).Raw("</span>");
  }
  Html& Head(std::initializer_list<const char*> cols) {
    Raw("<table><thead><tr>");
    for (const char* c : cols) Raw("<th>").Raw(c).Raw("</th>");
    return Raw("</tr></thead><tbody>");
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string OrDash(const std::optional<int>& v) { return v ? std::to_string(*v) : "-"; }

std::string Millis(int64_t us) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(us) / 1000.0);
  return buf;
}

// done and unchanged are fine; failed is not; the rest (missing, skipped,
// dry-run) wants a look.
const char* OutcomeTag(Outcome outcome) {
  if (outcome == Outcome::kDone || outcome == Outcome::kUnchanged) return "ok";
  if (outcome == Outcome::kFailed) return "bad";
  return "warn";
}

const char* HealthTag(const Health& h) {
  if (h.status == "ok") return "ok";
  if (h.status == "degraded") return "warn";
  return "bad";
}

void Summary(Html& h, const State& s) {
  int vfio = 0, host = 0;
  for (const auto& r : GpuRows(s)) (r.assignment == "vfio" ? vfio : host) += 1;
  int missing = 0;
  for (const auto& p : KernelParamRows(s)) missing += p.in_effect ? 0 : 1;
  auto box = [&](const std::string& value, const char* label) {
    h.Raw("<div><strong>").Text(value).Raw("</strong><span>").Raw(label).Raw("</span></div>");
  };
  h.Raw("<div class=\"summary\">");
  box(std::to_string(s.inventory.gpus.size()), "GPUs");
  box(std::to_string(vfio), "for VMs (vfio)");
  box(std::to_string(host), "kept by the host");
  box(s.inventory.system.iommu.enabled ? "on" : "off", "IOMMU");
  box(std::to_string(missing), "kernel parameters missing");
  box(s.reboot_requested ? "yes" : "no", "reboot requested");
  box(std::to_string(AllWarnings(s).size()) + " / " + std::to_string(s.errors.size()),
      "warnings / errors");
  h.Raw("</div>");
}

void Problems(Html& h, const State& s) {
  auto ws = AllWarnings(s);
  if (ws.empty() && s.errors.empty()) return;
  h.Raw("<section id=\"problems\"><h2>Errors and warnings</h2>").Head({"", "Where", "Message"});
  for (const auto& e : s.errors) {
    h.Raw("<tr><td>")
        .Tag("error", "bad")
        .Raw("</td>")
        .Td(e.where, "mono")
        .Td(e.message)
        .Raw("</tr>");
  }
  for (const auto& w : ws) {
    h.Raw("<tr><td>").Tag("warning", "warn").Raw("</td>").Td(w.where, "mono").Td(w.message);
    h.Raw("</tr>");
  }
  h.Raw("</tbody></table></section>");
}

void Gpus(Html& h, const State& s) {
  h.Raw("<section><h2>GPUs</h2>");
  auto rows = GpuRows(s);
  if (rows.empty()) {
    h.Raw("<p>No GPU found.</p></section>");
    return;
  }
  h.Raw(
      "<table id=\"gpus\"><thead><tr><th>Address</th><th>Model</th><th>Assignment</th>"
      "<th>Why</th><th>Driver</th><th>IOMMU group</th><th>NUMA</th><th>Functions</th>"
      "</tr></thead><tbody>");
  for (const auto& r : rows) {
    const auto& g = *r.gpu;
    std::string funcs;
    for (const auto& c : g.companions) funcs += (funcs.empty() ? "" : " ") + c.ToString();
    h.Raw("<tr>").Td(g.address.ToString(), "mono");
    h.Raw("<td>").Text(r.model).Raw("<div class=\"rule\">").Text(g.kind);
    if (g.boot_vga) h.Raw(", boot VGA");
    h.Raw("</div></td><td>").Tag(r.assignment, r.assignment).Raw("</td>");
    h.Raw("<td class=\"why\">");
    if (r.decision) {
      h.Text(r.decision->reason);
      if (!r.decision->rule.empty())
        h.Raw("<div class=\"rule\">").Text(r.decision->rule).Raw("</div>");
      if (r.decision->one_start_per_boot && r.assignment == "vfio") {
        h.Raw("<div>").Tag("no reset: one VM start per boot", "warn").Raw("</div>");
      }
    } else {
      h.Raw("The plan did not decide on this GPU.");
    }
    h.Raw("</td>").Td(r.driver.empty() ? "none" : r.driver, "mono");
    h.Td(OrDash(g.iommu_group), "num")
        .Td(OrDash(g.numa_node), "num")
        .Td(funcs.empty() ? "-" : funcs, "mono");
    h.Raw("</tr>");
  }
  h.Raw("</tbody></table></section>");
}

// Whether a remote manager can reach libvirt, and who: what the agent's run
// saw at this boot (inventory/remote_scan.h).
std::string RemoteLibvirtText(const inventory::RemoteLibvirt& r) {
  std::string port = std::to_string(r.port);
  if (!r.error.empty()) return "unknown: " + r.error;
  if (!r.configured) {
    return r.listening ? "off by gpuhost, but something listens on port " + port
                       : "off (no gpuhost.libvirt-tls-* credentials at this boot)";
  }
  std::string dns;
  for (const auto& d : r.allowed_dn) dns += (dns.empty() ? "" : " or ") + d;
  std::string who = r.allowed_dn.empty() ? "any certificate signed by " + r.ca_subject
                                         : "certificates signed by " + r.ca_subject +
                                               " whose subject matches " + dns;
  return (r.listening ? "on: qemu+tls, port " : "configured but NOT listening: port ") + port +
         ", as " + r.server_subject + "; may connect: " + who;
}

void Machine(Html& h, const State& s, const std::string& hostname) {
  const auto& sys = s.inventory.system;
  h.Raw("<section id=\"machine\"><h2>Machine</h2><dl>");
  auto row = [&](const char* k, const std::string& v, const char* cls = nullptr) {
    h.Raw("<dt>").Raw(k).Raw(cls ? "</dt><dd class=\"mono\">" : "</dt><dd>").Text(v).Raw("</dd>");
  };
  row("Host name", hostname);
  row("CPU", sys.cpu.model.empty() ? sys.cpu.vendor : sys.cpu.model);
  row("Logical CPUs",
      std::to_string(sys.cpu.logical_cpus) + ", " +
          (sys.cpu.virtualization.empty() ? "no VT-x/AMD-V" : sys.cpu.virtualization));
  row("Memory", std::to_string(sys.memory.total_kib / 1024) + " MiB, " +
                    std::to_string(sys.memory.hugepages_total) + " hugepages (" +
                    std::to_string(sys.memory.hugepages_free) + " free)");
  row("KVM", sys.kvm_device ? "/dev/kvm present" : "/dev/kvm missing");
  row("IOMMU", std::string(sys.iommu.enabled ? "on" : "off") + ", ACPI table " +
                   (sys.iommu.firmware_table.empty() ? "none" : sys.iommu.firmware_table) + ", " +
                   std::to_string(s.inventory.iommu_groups.size()) + " groups");
  row("Kernel", sys.kernel_release, "mono");
  row("Remote libvirt", RemoteLibvirtText(sys.remote_libvirt));
  row("Inventory source", s.inventory.source, "mono");
  h.Raw("</dl></section>");
}

void KernelParams(Html& h, const State& s) {
  h.Raw(
      "<section id=\"kernel-params\"><h2>Kernel parameters <small>wanted vs in "
      "effect</small></h2>");
  auto rows = KernelParamRows(s);
  if (rows.empty()) {
    h.Raw("<p>The plan wants no kernel parameters.</p>");
  } else {
    h.Head({"Wanted", "In effect"});
    for (const auto& r : rows) {
      h.Raw("<tr>").Td(r.param, "mono").Raw("<td>");
      if (r.in_effect) {
        h.Tag("in effect", "ok");
      } else {
        h.Tag("missing: takes effect after a reboot", "warn");
      }
      h.Raw("</td></tr>");
    }
    h.Raw("</tbody></table>");
  }
  h.Raw("<dl><dt>/proc/cmdline</dt><dd class=\"mono\">")
      .Text(inventory::RedactCmdline(s.inventory.system.cmdline));
  h.Raw("</dd></dl></section>");
}

void Modules(Html& h, const State& s) {
  auto rows = ModuleRows(s);
  h.Raw("<section id=\"modules\"><h2>Modules</h2>");
  if (rows.empty()) {
    h.Raw("<p>The plan loads no modules.</p></section>");
    return;
  }
  h.Head({"Module", "Options", "Outcome", "Read back"});
  for (const auto& m : rows) {
    h.Raw("<tr>").Td(m.name, "mono").Td(m.options.empty() ? "-" : m.options, "mono").Raw("<td>");
    if (m.outcome) h.Tag(ToString(*m.outcome), OutcomeTag(*m.outcome));
    if (!m.message.empty()) h.Raw(" ").Text(m.message);
    h.Raw("</td><td>");
    if (m.check) h.Tag(m.check->ok ? "ok" : m.check->actual, m.check->ok ? "ok" : "bad");
    h.Raw("</td></tr>");
  }
  h.Raw("</tbody></table></section>");
}

void Checks(Html& h, const State& s) {
  auto checks = OtherChecks(s);
  h.Raw("<section id=\"checks\"><h2>Hardening and read-back checks</h2>");
  if (checks.empty()) {
    h.Raw("<p>No checks ran.</p></section>");
    return;
  }
  h.Head({"Check", "Wanted", "Actual", ""});
  for (const auto* c : checks) {
    h.Raw("<tr>").Td(c->name, "mono").Td(c->wanted, "mono").Td(c->actual, "mono").Raw("<td>");
    h.Tag(c->ok ? "ok" : "fails", c->ok ? "ok" : "bad").Raw("</td></tr>");
  }
  h.Raw("</tbody></table></section>");
}

void IommuGroups(Html& h, const State& s) {
  const auto& inv = s.inventory;
  h.Raw("<section id=\"iommu-groups\"><h2>IOMMU groups</h2>");
  if (inv.iommu_groups.empty()) {
    h.Raw("<p>None: the IOMMU is off or absent.</p></section>");
    return;
  }
  h.Head({"Group", "Type", "Members"});
  for (const auto& g : inv.iommu_groups) {
    std::string members;
    for (const auto& m : g.members) {
      const auto* f = inv.Find(m);
      members += (members.empty() ? "" : ", ") + m.ToString() +
                 (f && f->driver ? " (" + *f->driver + ")" : "");
    }
    h.Raw("<tr>").Td(std::to_string(g.id), "num").Td(g.type).Td(members, "mono").Raw("</tr>");
  }
  h.Raw("</tbody></table></section>");
}

void Actions(Html& h, const State& s) {
  h.Raw("<section id=\"actions\"><h2>Actions of the last run</h2>");
  if (s.actions.empty()) {
    h.Raw("<p>No actions.</p></section>");
    return;
  }
  h.Head({"Action", "Target", "Outcome", "Why / result", "Time"});
  for (const auto& a : s.actions) {
    h.Raw("<tr>").Td(plan::ActionKindName(a.action.Kind()), "mono").Td(a.action.Target(), "mono");
    h.Raw("<td>").Tag(ToString(a.outcome), OutcomeTag(a.outcome)).Raw("</td>");
    h.Raw("<td>").Text(a.action.reason);
    if (!a.message.empty()) h.Raw("<div class=\"rule\">").Text(a.message).Raw("</div>");
    h.Raw("</td>").Td(Millis(a.duration_us), "num").Raw("</tr>");
  }
  h.Raw("</tbody></table></section>");
}

void Timings(Html& h, const State& s) {
  h.Raw("<section id=\"timings\"><h2>Agent timings</h2><dl>");
  h.Raw("<dt>Boot</dt><dd class=\"mono\">").Text(s.boot_id.empty() ? "unknown" : s.boot_id);
  h.Raw("</dd>");
  h.Raw("<dt>Started</dt><dd>").Text(s.started_at).Raw("</dd>");
  h.Raw("<dt>Finished</dt><dd>").Text(s.finished_at).Raw("</dd>");
  for (const auto& [stage, us] : s.timings_us) {
    h.Raw("<dt>").Text(stage).Raw("</dt><dd>").Text(Millis(us)).Raw("</dd>");
  }
  h.Raw("</dl></section>");
}

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

std::string RenderPage(const View& v) {
  Health health = Evaluate(v);
  const State* s = v.state ? &*v.state : nullptr;
  Html h;
  h.Raw(
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>gpuhost: ");
  h.Text(v.hostname).Raw("</title><style>").Raw(kStyle).Raw("</style></head><body><header><h1>");
  h.Raw("gpuhost &middot; ").Text(v.hostname).Raw("</h1>");
  h.Tag(health.status, HealthTag(health)).Raw("<p>");
  if (s != nullptr) {
    h.Text(s->inventory.system.cpu.model).Raw(" &middot; kernel ");
    h.Text(s->inventory.system.kernel_release).Raw(" &middot; last run ").Text(s->finished_at);
    if (s->dry_run) h.Raw(" (dry run)");
    // What follows describes that run, not necessarily the machine now.
    if (JudgeFreshness(v).kind != Freshness::Kind::kCurrent) h.Raw(" &middot; <b>not current</b>");
  }
  h.Raw("</p></header><main>");
  if (!health.reason.empty()) {
    h.Raw("<section id=\"health\"><h2>Health: ").Text(health.status).Raw("</h2><p>");
    h.Text(health.reason).Raw("</p></section>");
  }
  if (s != nullptr) {
    Summary(h, *s);
    Problems(h, *s);
    h.Raw(RenderPolicySection(*s));
    h.Raw(RenderBootSection(v));
    Gpus(h, *s);
    h.Raw(RenderNvidiaSection(v));
    h.Raw(RenderVirtSections(v));
    h.Raw("<div class=\"grid\">");
    Machine(h, *s, v.hostname);
    KernelParams(h, *s);
    Modules(h, *s);
    h.Raw("</div>");
    Checks(h, *s);
    IommuGroups(h, *s);
    Actions(h, *s);
    Timings(h, *s);
  }
  h.Raw("</main><footer>gpuhost-agent ").Text(v.build.version).Raw(" &middot; state file ");
  h.Raw("<span class=\"mono\">").Text(v.state_path).Raw("</span> &middot; ");
  h.Raw("<a href=\"/api/v1/status\">JSON</a> &middot; <a href=\"/metrics\">metrics</a> &middot; ");
  h.Raw("<a href=\"/healthz\">healthz</a></footer></body></html>\n");
  return h.Take();
}

}  // namespace gpuhost::report
