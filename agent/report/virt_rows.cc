#include "report/virt_rows.h"

#include <algorithm>

namespace gpuhost::report {

VirtSource EffectiveVirt(const View& v) {
  VirtSource out;
  out.virt = v.state->inventory.virt;
  out.since = v.state->finished_at;
  if (v.live_virt) {
    // KVM stays as the run judged it: serve has no /dev (PrivateDevices).
    const auto& live = v.live_virt->virt;
    out.virt.libvirt_connected = live.libvirt_connected;
    out.virt.libvirt_uri = live.libvirt_uri;
    out.virt.libvirt_error = live.libvirt_error;
    // Domain capabilities need a read-write connection (libvirt's ACL
    // connect:write) and serve's is read-only: the agent's run, as root,
    // records them whenever it reached libvirt.
    if (live.hostdev_vfio || !live.virt_type.empty()) {
      out.virt.hostdev_vfio = live.hostdev_vfio;
      out.virt.virt_type = live.virt_type;
    }
    out.virt.domains = live.domains;
    out.live = true;
    out.since = v.live_virt->since;
  }
  return out;
}

std::vector<VfioGpuRow> VfioGpuRows(const State& s, const inventory::Virtualization& virt) {
  std::vector<VfioGpuRow> rows;
  for (const auto& d : s.plan.gpus) {
    if (d.assignment != plan::Assignment::kVfio) continue;
    auto g = std::find_if(s.inventory.gpus.begin(), s.inventory.gpus.end(),
                          [&](const auto& x) { return x.address == d.gpu; });
    if (g == s.inventory.gpus.end()) continue;
    VfioGpuRow r;
    r.gpu = &*g;
    r.functions = d.functions;
    if (r.functions.empty()) {  // an older plan without the list
      r.functions.push_back(g->address);
      r.functions.insert(r.functions.end(), g->companions.begin(), g->companions.end());
    }
    // The owner: a running VM with any function of the GPU, else a defined one.
    for (bool want_active : {true, false}) {
      for (const auto& vm : virt.domains) {
        if (!r.owner.empty() || vm.active != want_active) continue;
        bool has = std::any_of(vm.hostdevs.begin(), vm.hostdevs.end(), [&](const auto& h) {
          return std::find(r.functions.begin(), r.functions.end(), h) != r.functions.end();
        });
        if (has) {
          r.owner = vm.name;
          r.owner_state = vm.state;
          r.owner_active = vm.active;
        }
      }
    }
    if (g->numa_node) {
      auto it = s.inventory.system.numa_cpus.find(*g->numa_node);
      if (it != s.inventory.system.numa_cpus.end()) r.node_cpus = it->second;
    }
    r.snippet = virt::MakeHostdevSnippet(r.functions, g->numa_node, r.node_cpus);
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string DescribeHostdev(const State& s, const inventory::PciAddress& a) {
  const auto* f = s.inventory.Find(a);
  if (f == nullptr) return a.ToString() + " (not on this host)";
  if (f->role == inventory::Role::kGpu) return a.ToString() + " (GPU)";
  if (f->role == inventory::Role::kGpuCompanion) return a.ToString() + " (GPU companion)";
  return a.ToString();
}

}  // namespace gpuhost::report
