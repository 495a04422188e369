#include "report/metrics.h"

#include <cstdio>
#include <ctime>
#include <map>

#include "inventory/redact.h"
#include "report/freshness.h"
#include "report/nvidia_rows.h"
#include "report/virt_rows.h"

namespace gpuhost::report {
namespace {

// Builds one metric family at a time: HELP and TYPE, then its samples.
class Exposition {
 public:
  void Family(const char* name, const char* type, const char* help) {
    name_ = name;
    out_ += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }
  // labels: already formatted `a="b",c="d"` or empty.
  void Sample(const std::string& labels, double value) {
    out_ += name_;
    if (!labels.empty()) out_ += "{" + labels + "}";
    char buf[64];
    if (value == static_cast<double>(static_cast<int64_t>(value))) {
      std::snprintf(buf, sizeof buf, " %lld\n", static_cast<long long>(value));
    } else {
      std::snprintf(buf, sizeof buf, " %.6f\n", value);
    }
    out_ += buf;
  }
  void Sample(double value) { Sample("", value); }
  std::string Take() { return std::move(out_); }

 private:
  std::string name_;
  std::string out_;
};

std::string Label(const char* name, std::string_view value) {
  return std::string(name) + "=\"" + EscapeLabelValue(value) + "\"";
}

// Which node this is, for joins with other inventories: the host name serve
// sees, and the ids the agent (root) recorded; "" until a state is loaded,
// and for files the machine lacks (no SMBIOS in a micro-VM).
void NodeInfo(Exposition& m, const View& v) {
  inventory::Identity id;
  if (v.state) id = v.state->inventory.system.identity;
  m.Family("gpuhost_node_info", "gauge",
           "The node's host name, machine id and SMBIOS product UUID and serial (always 1).");
  m.Sample(Label("hostname", v.hostname) + "," + Label("machine_id", id.machine_id) + "," +
               Label("product_uuid", id.product_uuid) + "," +
               Label("product_serial", id.product_serial),
           1);
}

// libvirt over TLS for a remote manager (inventory/remote_scan.h).
void RemoteLibvirtMetrics(Exposition& m, const View& v) {
  if (!v.state) return;
  const auto& r = v.state->inventory.system.remote_libvirt;
  m.Family("gpuhost_remote_libvirt_configured", "gauge",
           "1 when libvirt over TLS was configured from credentials at this boot.");
  m.Sample("", r.configured ? 1 : 0);
  m.Family("gpuhost_remote_libvirt_listening", "gauge",
           "1 when a socket listens on libvirt's TLS port (16514) as the agent's run saw it.");
  m.Sample("", r.listening ? 1 : 0);
}

// /healthz's status as an enum, so that an alert can tell a failed run from
// a stale or missing result without parsing the body.
void HealthStatus(Exposition& m, const Health& h) {
  m.Family("gpuhost_health_status", "gauge",
           "GET /healthz's status: 1 for the one it has, 0 for the others.");
  for (const char* st :
       {"ok", "degraded", "failed", "stale", "unfinished", "no-state", "invalid-state"}) {
    m.Sample(Label("status", st), h.status == st ? 1 : 0);
  }
}

// KVM, libvirt, the VMs and who has each vfio GPU (docs/status-api.md).
void VirtMetrics(Exposition& m, const View& v, const State& s) {
  VirtSource src = EffectiveVirt(v);
  const auto& x = src.virt;
  m.Family("gpuhost_kvm_usable", "gauge", "1 when the CPU has VT-x/AMD-V and /dev/kvm exists.");
  m.Sample(x.kvm_usable ? 1 : 0);
  m.Family("gpuhost_libvirt_connected", "gauge",
           "1 when libvirt (qemu:///system) answered; 0 when its daemon is not running or failed.");
  m.Sample(x.libvirt_connected ? 1 : 0);
  if (!x.libvirt_connected) return;
  if (x.hostdev_vfio) {
    m.Family("gpuhost_libvirt_hostdev_vfio", "gauge",
             "1 when libvirt's domain capabilities offer PCI host devices with the vfio backend.");
    m.Sample(*x.hostdev_vfio ? 1 : 0);
  }
  m.Family("gpuhost_vm_info", "gauge",
           "One series per VM libvirt defines, with its state (always 1).");
  for (const auto& vm : x.domains) {
    m.Sample(Label("vm", vm.name) + "," + Label("state", vm.state), 1);
  }
  m.Family("gpuhost_vm_active", "gauge",
           "1 for a VM that is running (or paused), 0 when shut off.");
  for (const auto& vm : x.domains) m.Sample(Label("vm", vm.name), vm.active ? 1 : 0);
  m.Family("gpuhost_vm_pci_devices", "gauge", "PCI host devices assigned to each VM.");
  for (const auto& vm : x.domains) {
    m.Sample(Label("vm", vm.name), static_cast<double>(vm.hostdevs.size()));
  }
  auto rows = VfioGpuRows(s, x);
  m.Family("gpuhost_gpu_free", "gauge", "1 for a vfio GPU no VM has as a host device.");
  for (const auto& r : rows) {
    m.Sample(Label("address", r.gpu->address.ToString()), r.owner.empty() ? 1 : 0);
  }
  m.Family(
      "gpuhost_gpu_owner", "gauge",
      "1 per vfio GPU that a VM has as a host device, naming the VM; vm_active 1 when it runs.");
  for (const auto& r : rows) {
    if (r.owner.empty()) continue;
    m.Sample(Label("address", r.gpu->address.ToString()) + "," + Label("vm", r.owner) + "," +
                 Label("vm_active", r.owner_active ? "1" : "0"),
             1);
  }
}

// The host's NVIDIA GPUs as NVML reads them (serve's own reading).
// The image's version, the installed versions and whether this boot is a
// rollback (docs/updates.md); only when the run recorded a boot state.
void BootMetrics(Exposition& m, const View& v) {
  if (v.last_update) {
    const boot::UpdateAttempt& a = *v.last_update;
    m.Family("gpuhost_update_last_attempt_result", "gauge",
             "The last gpuhost-agent update: 1 for its result, 0 for the others.");
    for (const char* r : {"updated", "no-update", "failed"}) {
      m.Sample(Label("result", r), a.result == r ? 1 : 0);
    }
    m.Family("gpuhost_update_last_attempt_duration_seconds", "gauge",
             "How long the last gpuhost-agent update took, in seconds.");
    m.Sample(a.duration_s);
    if (double t = ParseRfc3339Utc(a.finished_at); t >= 0) {
      m.Family("gpuhost_update_last_attempt_timestamp_seconds", "gauge",
               "When the last gpuhost-agent update finished, in seconds since the epoch.");
      m.Sample(t);
    }
  }
  std::optional<boot::BootState> effective = EffectiveBootState(v);
  if (!effective) return;
  const boot::BootState& b = *effective;
  m.Family("gpuhost_image_info", "gauge", "The running image's id and version (always 1).");
  m.Sample(Label("image_id", b.image_id) + "," + Label("version", b.running_version), 1);
  m.Family("gpuhost_boot_status", "gauge",
           "The boot's state: 1 for the one it is in, 0 for the others (docs/updates.md).");
  for (const char* st : {"blessed", "on-trial", "update-pending", "rolled-back", "older-selected",
                         "no-esp", "not-an-image"}) {
    m.Sample(Label("status", st), b.status == st ? 1 : 0);
  }
  m.Family("gpuhost_boot_rolled_back", "gauge",
           "1 when the node fell back from a newer version whose tries were used up.");
  m.Sample(b.rolled_back_from.empty() ? 0 : 1);
  if (!b.rolled_back_from.empty()) {
    m.Family("gpuhost_boot_rollback_info", "gauge",
             "The version the node fell back from and the one it runs (always 1).");
    m.Sample(Label("from_version", b.rolled_back_from) + "," +
                 Label("to_version", b.running_version) + "," +
                 Label("tries", std::to_string(b.rollback_tries)),
             1);
  }
  m.Family("gpuhost_image_installed", "gauge",
           "One series per version installed in the ESP with its boot counter's state (always "
           "1).");
  for (const auto& i : b.installed) {
    m.Sample(Label("version", i.version) + "," + Label("state", boot::UkiStateName(i.state)), 1);
  }
  if (const boot::Verdict* verdict = ThisBootVerdict(v)) {
    m.Family("gpuhost_boot_blessed", "gauge",
             "This counted boot's verdict: 1 blessed, 0 refused; absent until it was judged.");
    m.Sample(verdict->blessed ? 1 : 0);
  }
}

void NvidiaMetrics(Exposition& m, const View& v) {
  NvidiaStatus st = EffectiveNvidia(v);
  m.Family("gpuhost_nvidia_gpus", "gauge", "NVIDIA GPUs the inventory found (host and vfio).");
  m.Sample(st.nvidia_gpus);
  m.Family("gpuhost_nvidia_host_gpus", "gauge", "NVIDIA GPUs the plan keeps on the host.");
  m.Sample(static_cast<double>(st.host.size()));
  if (st.reading == nullptr) return;
  const nvml::Report& r = st.reading->report;
  m.Family("gpuhost_nvml_available", "gauge",
           "1 when libnvidia-ml loaded and initialised; 0 when not (no driver).");
  m.Sample(r.available ? 1 : 0);
  if (!r.available) return;
  m.Family("gpuhost_nvidia_driver_info", "gauge", "The NVIDIA driver NVML reports (always 1).");
  m.Sample(Label("version", r.driver_version), 1);
  auto each = [&](const char* name, const char* help, auto value) {
    m.Family(name, "gauge", help);
    for (const auto& g : r.gpus) {
      if (auto x = value(g))
        m.Sample(Label("address", g.address) + "," + Label("model", g.name), *x);
    }
  };
  using G = nvml::GpuReading;
  using D = std::optional<double>;
  each("gpuhost_nvidia_gpu_memory_total_bytes", "Memory of each host NVIDIA GPU, in bytes.",
       [](const G& g) { return g.memory_total_bytes ? D(*g.memory_total_bytes) : D(); });
  each("gpuhost_nvidia_gpu_memory_used_bytes", "Memory in use on each host NVIDIA GPU, in bytes.",
       [](const G& g) { return g.memory_used_bytes ? D(*g.memory_used_bytes) : D(); });
  each("gpuhost_nvidia_gpu_utilization_percent",
       "Percent of the last sample period a kernel ran on the GPU (NVML utilization.gpu).",
       [](const G& g) { return g.utilization_gpu_percent ? D(*g.utilization_gpu_percent) : D(); });
  each("gpuhost_nvidia_gpu_memory_utilization_percent",
       "Percent of the last sample period memory was read or written (NVML utilization.memory).",
       [](const G& g) {
         return g.utilization_memory_percent ? D(*g.utilization_memory_percent) : D();
       });
  each("gpuhost_nvidia_gpu_temperature_celsius", "GPU core temperature, degrees Celsius.",
       [](const G& g) { return g.temperature_c ? D(*g.temperature_c) : D(); });
  each("gpuhost_nvidia_gpu_mig_enabled",
       "1 when MIG mode is on, 0 when off; absent for GPUs without MIG.",
       [](const G& g) { return g.mig_enabled ? D(*g.mig_enabled ? 1 : 0) : D(); });
}

}  // namespace

std::string EscapeLabelValue(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

double ParseRfc3339Utc(const std::string& s) {
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return -1;
  double frac = 0;
  if (*rest == '.') {
    double scale = 0.1;
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest, scale /= 10) frac += (*rest - '0') * scale;
  }
  if (std::string_view(rest) != "Z") return -1;
  time_t t = timegm(&tm);
  return t < 0 ? -1 : static_cast<double>(t) + frac;
}

std::string RenderMetrics(const View& v) {
  Exposition m;
  const State* s = v.state ? &*v.state : nullptr;
  Health h = Evaluate(v);

  m.Family("gpuhost_build_info", "gauge", "The gpuhost-agent serving these metrics (always 1).");
  m.Sample(Label("version", v.build.version) + "," + Label("openssl", v.build.openssl_version), 1);
  NodeInfo(m, v);
  RemoteLibvirtMetrics(m, v);
  m.Family("gpuhost_state_loaded", "gauge",
           "1 when the agent's state file was read and is valid, 0 when missing or invalid.");
  m.Sample(s ? 1 : 0);
  m.Family("gpuhost_healthy", "gauge", "1 when GET /healthz answers 200.");
  m.Sample(h.http_status == 200 ? 1 : 0);
  HealthStatus(m, h);
  Freshness fresh = JudgeFreshness(v);
  m.Family("gpuhost_result_current", "gauge",
           "1 when the result is this boot's and the last run started in this boot finished.");
  m.Sample(fresh.kind == Freshness::Kind::kCurrent ? 1 : 0);
  m.Family("gpuhost_result_freshness_info", "gauge",
           "Why the result is (not) current: current, no-result, other-boot, no-boot-id or "
           "unfinished, with this boot's and the result's boot ids (always 1).");
  m.Sample(Label("freshness", FreshnessName(fresh.kind)) + "," + Label("boot_id", fresh.boot_id) +
               "," + Label("result_boot_id", fresh.result_boot_id),
           1);
  m.Family("gpuhost_apply_result", "gauge",
           "The last run's result: 1 for the one it had, 0 for the others.");
  for (const char* r : {"ok", "degraded", "failed"}) {
    m.Sample(Label("result", r), s && s->result == r ? 1 : 0);
  }
  if (s == nullptr) return m.Take();

  m.Family("gpuhost_policy_source", "gauge",
           "Where the last run's policy came from: 1 for node, fleet-default, last-good, local "
           "or built-in, 0 for the others; all 0 when no policy was reached.");
  for (const char* src : {fleet::kSourceNode, fleet::kSourceFleetDefault, fleet::kSourceLastGood,
                          fleet::kSourceLocal, fleet::kSourceBuiltIn}) {
    m.Sample(Label("source", src), s->policy.source == src ? 1 : 0);
  }
  m.Family("gpuhost_policy_sources_skipped", "gauge",
           "Policy sources the last run passed over (unreachable, not found, no value for a "
           "placeholder) before the one it used.");
  m.Sample(static_cast<double>(s->policy.skipped.size()));
  m.Family("gpuhost_apply_dry_run", "gauge", "1 when the last run was a dry run.");
  m.Sample(s->dry_run ? 1 : 0);
  m.Family("gpuhost_apply_duration_seconds", "gauge",
           "How long each stage of the last run took, in seconds.");
  for (const auto& [stage, us] : s->timings_us) {
    m.Sample(Label("stage", stage), static_cast<double>(us) / 1e6);
  }
  if (double t = ParseRfc3339Utc(s->finished_at); t >= 0) {
    m.Family("gpuhost_apply_finished_timestamp_seconds", "gauge",
             "When the last run finished, in seconds since the epoch.");
    m.Sample(t);
  }

  auto rows = GpuRows(*s);
  std::map<std::string, int> by_assignment{{"host", 0}, {"vfio", 0}, {"undecided", 0}};
  for (const auto& r : rows) ++by_assignment[r.assignment];
  m.Family("gpuhost_gpus", "gauge", "GPUs by assignment: host, vfio, or undecided by the plan.");
  for (const auto& [a, n] : by_assignment) m.Sample(Label("assignment", a), n);
  m.Family("gpuhost_gpu_info", "gauge", "One series per GPU with its assignment (always 1).");
  for (const auto& r : rows) {
    m.Sample(Label("address", r.gpu->address.ToString()) + "," + Label("model", r.model) + "," +
                 Label("assignment", r.assignment) + "," + Label("driver", r.driver),
             1);
  }
  m.Family("gpuhost_gpu_one_start_per_boot", "gauge",
           "1 for a GPU without a usable reset method: a VM can start with it once per host boot.");
  for (const auto& r : rows) {
    bool once = r.decision != nullptr && r.decision->one_start_per_boot;
    m.Sample(Label("address", r.gpu->address.ToString()), once ? 1 : 0);
  }
  VirtMetrics(m, v, *s);
  NvidiaMetrics(m, v);
  BootMetrics(m, v);
  m.Family("gpuhost_iommu_groups", "gauge", "IOMMU groups the kernel reports.");
  m.Sample(static_cast<double>(s->inventory.iommu_groups.size()));

  m.Family("gpuhost_actions", "gauge", "Actions of the last run by outcome.");
  for (const auto& [outcome, n] : OutcomeCounts(*s)) m.Sample(Label("outcome", outcome), n);
  int checks_failed = 0;
  for (const auto& c : s->checks) checks_failed += c.ok ? 0 : 1;
  m.Family("gpuhost_checks", "gauge", "Read-back checks of the last run.");
  m.Sample(static_cast<double>(s->checks.size()));
  m.Family("gpuhost_checks_failed", "gauge", "Read-back checks of the last run that failed.");
  m.Sample(checks_failed);
  auto params = KernelParamRows(*s);
  int params_missing = 0;
  for (const auto& p : params) params_missing += p.in_effect ? 0 : 1;
  m.Family("gpuhost_kernel_params_missing", "gauge",
           "Kernel parameters the plan wants that the running kernel was not booted with.");
  m.Sample(params_missing);
  m.Family("gpuhost_kernel_param_in_effect", "gauge",
           "Per kernel parameter the plan wants: 1 when /proc/cmdline has it, 0 until a reboot.");
  // The metrics carry no secret from the command line: a wanted rd.luks.key=FILE
  // is named by its hidden form, as the API's in_effect shows it.
  for (const auto& p : params) {
    m.Sample(Label("param", inventory::RedactCmdline(p.param)), p.in_effect ? 1 : 0);
  }
  m.Family("gpuhost_reboot_requested", "gauge", "1 when the last run asked for a reboot.");
  m.Sample(s->reboot_requested ? 1 : 0);
  m.Family("gpuhost_warnings", "gauge", "Warnings of the last run.");
  m.Sample(static_cast<double>(AllWarnings(*s).size()));
  m.Family("gpuhost_errors", "gauge", "Errors of the last run.");
  m.Sample(static_cast<double>(s->errors.size()));
  return m.Take();
}

}  // namespace gpuhost::report
