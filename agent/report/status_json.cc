#include "report/status_json.h"

#include "inventory/json.h"
#include "inventory/redact.h"
#include "plan/json.h"
#include "report/freshness.h"
#include "report/nvidia_rows.h"
#include "report/virt_rows.h"

namespace gpuhost::report {
namespace {

using nlohmann::json;

json OptInt(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

json Addrs(const std::vector<inventory::PciAddress>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.ToString());
  return a;
}

json Warnings(const std::vector<inventory::Warning>& ws) {
  json a = json::array();
  for (const auto& w : ws) a.push_back({{"where", w.where}, {"message", w.message}});
  return a;
}

json CheckJson(const Check& c) {
  return {{"name", c.name}, {"wanted", c.wanted}, {"actual", c.actual}, {"ok", c.ok}};
}

json Machine(const State& s) {
  const auto& sys = s.inventory.system;
  return {
      {"cpu",
       {{"vendor", sys.cpu.vendor},
        {"model", sys.cpu.model},
        {"logical_cpus", sys.cpu.logical_cpus},
        {"virtualization", sys.cpu.virtualization}}},
      {"identity",
       {{"machine_id", sys.identity.machine_id},
        {"product_uuid", sys.identity.product_uuid},
        {"product_serial", sys.identity.product_serial}}},
      {"remote_libvirt", inventory::ToJson(sys.remote_libvirt)},
      {"memory_kib", sys.memory.total_kib},
      {"hugepages",
       {{"total", sys.memory.hugepages_total},
        {"free", sys.memory.hugepages_free},
        {"size_kib", sys.memory.hugepage_size_kib}}},
      {"kvm_device", sys.kvm_device},
      {"iommu",
       {{"enabled", sys.iommu.enabled},
        {"firmware_table", sys.iommu.firmware_table},
        {"units", sys.iommu.units}}},
      {"kernel_release", sys.kernel_release},
      {"cmdline", inventory::RedactCmdline(sys.cmdline)},
  };
}

json Vms(const State& s, const inventory::Virtualization& virt) {
  json a = json::array();
  for (const auto& vm : virt.domains) {
    json devs = json::array();
    for (const auto& h : vm.hostdevs) {
      const auto* f = s.inventory.Find(h);
      devs.push_back(
          {{"address", h.ToString()}, {"role", f ? inventory::RoleName(f->role) : "not-on-host"}});
    }
    a.push_back(
        {{"name", vm.name}, {"state", vm.state}, {"active", vm.active}, {"hostdevs", devs}});
  }
  return a;
}

json VirtJson(const View& v) {
  VirtSource src = EffectiveVirt(v);
  const auto& x = src.virt;
  return {
      {"source", src.live ? "libvirt" : "state"},
      {"since", src.since},
      {"kvm", {{"usable", x.kvm_usable}, {"reason", x.kvm_reason}}},
      {"libvirt",
       {{"connected", x.libvirt_connected},
        {"uri", x.libvirt_uri},
        {"error", x.libvirt_error},
        {"virt_type", x.virt_type.empty() ? json(nullptr) : json(x.virt_type)},
        {"hostdev_vfio", x.hostdev_vfio ? json(*x.hostdev_vfio) : json(nullptr)}}},
      {"vms", x.libvirt_connected ? Vms(*v.state, x) : json(nullptr)},
  };
}

json VfioGpu(const VfioGpuRow& r, bool connected) {
  json owner = nullptr;  // unknown without libvirt
  if (connected) {
    owner = r.owner.empty()
                ? json{{"free", true}, {"vm", nullptr}, {"vm_state", nullptr}, {"vm_active", false}}
                : json{{"free", false},
                       {"vm", r.owner},
                       {"vm_state", r.owner_state},
                       {"vm_active", r.owner_active}};
  }
  return {{"owner", owner},
          {"libvirt_hostdev",
           {{"functions", Addrs(r.functions)},
            {"devices_xml", r.snippet.devices_xml},
            {"numa_xml", r.snippet.numa_xml},
            {"numa_node", OptInt(r.gpu->numa_node)},
            {"node_cpus", r.node_cpus},
            {"advice", r.snippet.advice}}}};
}

json Gpus(const View& v) {
  const State& s = *v.state;
  VirtSource src = EffectiveVirt(v);
  auto vfio_rows = VfioGpuRows(s, src.virt);
  json a = json::array();
  for (const auto& r : GpuRows(s)) {
    const auto& g = *r.gpu;
    json j = {
        {"address", g.address.ToString()},
        {"model", r.model},
        {"kind", g.kind},
        {"boot_vga", g.boot_vga},
        {"driver", r.driver.empty() ? json(nullptr) : json(r.driver)},
        {"iommu_group", OptInt(g.iommu_group)},
        {"numa_node", OptInt(g.numa_node)},
        {"companions", Addrs(g.companions)},
        {"assignment", r.assignment},
        {"rule", r.decision ? r.decision->rule : ""},
        {"reason", r.decision ? r.decision->reason : "the plan did not decide on this GPU"},
        {"one_start_per_boot", r.decision ? r.decision->one_start_per_boot : false},
        {"owner", nullptr},
        {"libvirt_hostdev", nullptr},
    };
    for (const auto& vr : vfio_rows) {
      if (vr.gpu->address == g.address) j.update(VfioGpu(vr, src.virt.libvirt_connected));
    }
    a.push_back(std::move(j));
  }
  return a;
}

json IommuGroups(const State& s) {
  json a = json::array();
  for (const auto& g : s.inventory.iommu_groups) {
    json members = json::array();
    for (const auto& m : g.members) {
      const auto* f = s.inventory.Find(m);
      members.push_back({{"address", m.ToString()},
                         {"driver", f && f->driver ? json(*f->driver) : json(nullptr)},
                         {"role", f ? inventory::RoleName(f->role) : "other"}});
    }
    a.push_back({{"id", g.id}, {"type", g.type}, {"members", members}});
  }
  return a;
}

json Modules(const State& s) {
  json a = json::array();
  for (const auto& m : ModuleRows(s)) {
    a.push_back({{"name", m.name},
                 {"options", m.options},
                 {"outcome", m.outcome ? ToString(*m.outcome) : ""},
                 {"message", m.message},
                 {"check", m.check ? CheckJson(*m.check) : json(nullptr)}});
  }
  return a;
}

json KernelParams(const State& s) {
  json wanted = json::array(), missing = json::array();
  for (const auto& r : KernelParamRows(s)) {
    wanted.push_back(r.param);
    if (!r.in_effect) missing.push_back(r.param);
  }
  return {{"wanted", wanted},
          {"in_effect", CmdlineWords(inventory::RedactCmdline(s.inventory.system.cmdline))},
          {"missing", missing}};
}

json Run(const State& s) {
  json actions = json::array();
  for (const auto& a : s.actions) actions.push_back(ToJson(a));
  json checks = json::array();
  for (const auto* c : OtherChecks(s)) checks.push_back(CheckJson(*c));
  return {
      {"agent_version", s.agent_version},
      {"boot_id", s.boot_id},
      {"run_id", s.run_id},
      {"started_at", s.started_at},
      {"finished_at", s.finished_at},
      {"result", s.result},
      {"dry_run", s.dry_run},
      {"reboot_requested", s.reboot_requested},
      {"timings_us", s.timings_us},
      {"actions", actions},
      {"checks", checks},
  };
}

// Whether the result below is this boot's and its run the last one started.
json FreshnessJson(const View& v) {
  Freshness f = JudgeFreshness(v);
  json started = nullptr;
  if (v.run_marker) {
    const RunMarker& m = *v.run_marker;
    started = {{"run_id", m.run_id}, {"pid", m.pid}, {"started_at", m.started_at}};
  }
  return {{"current", f.kind == Freshness::Kind::kCurrent},
          {"status", FreshnessName(f.kind)},
          {"reason", f.reason},
          {"boot_id", f.boot_id.empty() ? json(nullptr) : json(f.boot_id)},
          {"result_boot_id", v.state ? json(f.result_boot_id) : json(nullptr)},
          {"last_run_started", started}};
}

// The run's boot state with this boot's verdict (gpuhost-bless.service's,
// which comes after the run); null when the run recorded none.
json BootJson(const View& v) {
  std::optional<boot::BootState> b = EffectiveBootState(v);
  if (!b) return nullptr;
  json j = boot::ToJson(*b);
  const boot::Verdict* verdict = ThisBootVerdict(v);
  j["verdict"] = verdict ? boot::ToJson(*verdict) : json(nullptr);
  return j;
}

}  // namespace

json StatusJson(const View& v) {
  Health h = Evaluate(v);
  json j = {
      {"api_version", kStatusApiVersion},
      {"hostname", v.hostname},
      {"server", {{"version", v.build.version}, {"openssl", v.build.openssl_version}}},
      {"health", {{"healthy", h.http_status == 200}, {"status", h.status}, {"reason", h.reason}}},
      {"state_file", v.state_path},
      {"freshness", FreshnessJson(v)},
  };
  if (!v.state) return j;
  const State& s = *v.state;
  j["machine"] = Machine(s);
  j["gpus"] = Gpus(v);
  j["virtualization"] = VirtJson(v);
  j["nvidia"] = NvidiaJson(v);
  j["nvswitches"] = Addrs(s.inventory.nvswitches);
  j["iommu_groups"] = IommuGroups(s);
  j["modules"] = Modules(s);
  j["kernel_params"] = KernelParams(s);
  j["run"] = Run(s);
  // Where the policy came from (docs/fleet.md); null in older results.
  j["policy"] = s.policy.source.empty() && s.policy.url_template.empty() ? json(nullptr)
                                                                         : fleet::ToJson(s.policy);
  // The image's version and boot state (docs/updates.md); null in older results.
  j["boot"] = BootJson(v);
  // The last `gpuhost-agent update`; null before the first.
  j["last_update"] = v.last_update ? boot::ToJson(*v.last_update) : json(nullptr);
  j["warnings"] = Warnings(AllWarnings(s));
  j["errors"] = Warnings(s.errors);
  return j;
}

}  // namespace gpuhost::report
