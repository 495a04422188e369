#include "report/nvidia_rows.h"

#include <cstdio>

#include "report/page.h"

namespace gpuhost::report {
namespace {

using json = nlohmann::json;

bool IsNvidia(const State& s, const inventory::PciAddress& a) {
  const auto* f = s.inventory.Find(a);
  return f != nullptr && f->vendor_id == 0x10de;
}

std::string Mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

std::vector<inventory::PciAddress> HostNvidiaGpus(const State& s) {
  std::vector<inventory::PciAddress> out;
  for (const auto& r : GpuRows(s)) {
    if (r.assignment == "host" && IsNvidia(s, r.gpu->address)) out.push_back(r.gpu->address);
  }
  return out;
}

const char* NvidiaKindName(NvidiaStatus::Kind k) {
  switch (k) {
    case NvidiaStatus::Kind::kNoGpu:
      return "no-gpu";
    case NvidiaStatus::Kind::kNoHostGpu:
      return "no-host-gpu";
    case NvidiaStatus::Kind::kPending:
      return "pending";
    case NvidiaStatus::Kind::kUnavailable:
      return "unavailable";
    case NvidiaStatus::Kind::kRead:
      return "read";
  }
  return "unknown";
}

NvidiaStatus EffectiveNvidia(const View& v) {
  const State& s = *v.state;
  NvidiaStatus st;
  for (const auto& g : s.inventory.gpus) st.nvidia_gpus += IsNvidia(s, g.address) ? 1 : 0;
  st.host = HostNvidiaGpus(s);
  if (st.nvidia_gpus == 0) {
    st.message = "no NVIDIA GPU found";
    return st;
  }
  if (st.host.empty()) {
    st.kind = NvidiaStatus::Kind::kNoHostGpu;
    st.message = "no NVIDIA GPU kept on the host (" + std::to_string(st.nvidia_gpus) +
                 " given to VMs or undecided)";
    return st;
  }
  const nvml::Reading* r = v.live_nvml.get();
  if (r == nullptr || r->asked != st.host) {
    st.kind = NvidiaStatus::Kind::kPending;
    st.message = "NVML not read yet (serve reads it in the background)";
    return st;
  }
  st.reading = r;
  if (!r->report.available) {
    st.kind = NvidiaStatus::Kind::kUnavailable;
    st.message = r->report.error.empty() ? "NVML not available" : r->report.error;
    return st;
  }
  st.kind = NvidiaStatus::Kind::kRead;
  st.message = "NVIDIA driver " + r->report.driver_version + ", " +
               std::to_string(r->report.gpus.size()) + " host GPU(s) read through NVML";
  return st;
}

json NvidiaJson(const View& v) {
  NvidiaStatus st = EffectiveNvidia(v);
  json host = json::array();
  for (const auto& a : st.host) host.push_back(a.ToString());
  json j = {{"status", NvidiaKindName(st.kind)},
            {"message", st.message},
            {"nvidia_gpus", st.nvidia_gpus},
            {"host_gpus", host},
            {"nvml", nullptr}};
  if (st.reading != nullptr) {
    json n = nvml::ToJson(st.reading->report);
    n["read_at"] = st.reading->at;
    j["nvml"] = std::move(n);
  }
  return j;
}

std::string RenderNvidiaSection(const View& v) {
  NvidiaStatus st = EffectiveNvidia(v);
  std::string h = "<section id=\"nvidia\"><h2>NVIDIA <small>";
  h += st.reading ? "NVML, read " + HtmlEscape(st.reading->at) : std::string("NVML");
  h += "</small></h2><p>" + HtmlEscape(st.message) + "</p>";
  if (st.kind == NvidiaStatus::Kind::kRead) {
    h += "<table><tr><th>Address</th><th>Model</th><th>Driver</th><th class=\"num\">Memory "
         "used</th><th class=\"num\">Memory total</th><th class=\"num\">GPU util</th><th "
         "class=\"num\">Mem util</th><th class=\"num\">Temp</th><th>MIG</th></tr>";
    const std::string dash = "&ndash;";
    for (const auto& g : st.reading->report.gpus) {
      auto pct = [&](const std::optional<unsigned>& p) {
        return p ? std::to_string(*p) + " %" : dash;
      };
      h += "<tr><td class=\"mono\">" + HtmlEscape(g.address) + "</td><td>" +
           HtmlEscape(g.name.empty() ? g.error : g.name) + "</td><td>" +
           HtmlEscape(st.reading->report.driver_version) + "</td>";
      h += "<td class=\"num\">" + (g.memory_used_bytes ? Mib(*g.memory_used_bytes) : dash) +
           "</td><td class=\"num\">" + (g.memory_total_bytes ? Mib(*g.memory_total_bytes) : dash) +
           "</td>";
      h += "<td class=\"num\">" + pct(g.utilization_gpu_percent) + "</td><td class=\"num\">" +
           pct(g.utilization_memory_percent) + "</td>";
      h += "<td class=\"num\">" +
           (g.temperature_c ? std::to_string(*g.temperature_c) + " &deg;C" : dash) + "</td>";
      h += "<td>" + std::string(!g.mig_enabled ? "n/a" : (*g.mig_enabled ? "on" : "off")) +
           "</td></tr>";
    }
    h += "</table>";
  }
  return h + "</section>";
}

}  // namespace gpuhost::report
