#include "plan/decide.h"

#include <algorithm>
#include <map>

namespace gpuhost::plan {
namespace {

using inventory::Gpu;
using inventory::Inventory;
using inventory::PciFunction;

bool Matches(const GpuMatch& m, const Gpu& g, const PciFunction& f) {
  if (m.address && *m.address != g.address) return false;
  if (m.vendor && *m.vendor != f.vendor_id) return false;
  if (m.device && *m.device != f.device_id) return false;
  if (m.boot_vga && *m.boot_vga != g.boot_vga) return false;
  if (m.numa_node && (!g.numa_node || *m.numa_node != *g.numa_node)) return false;
  return true;
}

// Bridges and root ports may stay on their drivers inside a vfio group.
bool IsBridge(const PciFunction& f) { return f.role == inventory::Role::kBridge; }

std::string Describe(const Inventory& inv, const PciAddress& a) {
  const PciFunction* f = inv.Find(a);
  std::string d = a.ToString();
  if (f && f->driver) d += " (" + *f->driver + ")";
  return d;
}

// Non-GPU functions that a "devices" rule names. Companions follow their
// GPU and bridges never move, so neither is matched here.
void DecideDevices(const Inventory& inv, const Policy& policy, std::vector<GpuDecision>* out) {
  for (const auto& f : inv.functions) {
    if (f.role == inventory::Role::kGpu || f.role == inventory::Role::kGpuCompanion ||
        f.role == inventory::Role::kBridge) {
      continue;
    }
    Gpu as_unit;
    as_unit.address = f.address;
    as_unit.boot_vga = f.boot_vga;
    as_unit.numa_node = f.numa_node;
    for (const auto& r : policy.devices) {
      if (!Matches(r.match, as_unit, f)) continue;
      GpuDecision d;
      d.gpu = f.address;
      d.functions = {f.address};
      d.assignment = r.assign;
      d.rule = r.name;
      d.reason = "matched " + r.name;
      d.one_start_per_boot = f.reset_methods.empty();
      out->push_back(std::move(d));
      break;
    }
  }
}

}  // namespace

Decisions DecideGpus(const Inventory& inv, const Policy& policy) {
  Decisions out;
  // Which GPU (by index) each function belongs to.
  std::map<PciAddress, size_t> owner;
  for (size_t i = 0; i < inv.gpus.size(); ++i) {
    const Gpu& g = inv.gpus[i];
    const PciFunction* f = inv.Find(g.address);
    GpuDecision d;
    d.gpu = g.address;
    d.functions.push_back(g.address);
    for (const auto& c : g.companions) d.functions.push_back(c);
    for (const auto& fn : d.functions) owner[fn] = i;
    const GpuRule* rule = nullptr;
    for (const auto& r : policy.gpus) {
      if (f != nullptr && Matches(r.match, g, *f)) {
        rule = &r;
        break;
      }
    }
    if (rule != nullptr) {
      d.assignment = rule->assign;
      d.rule = rule->name;
      d.reason = std::string("matched ") + rule->name;
    } else if (g.boot_vga) {
      d.assignment = Assignment::kHost;
      d.rule = "default";
      d.reason = "the boot VGA GPU stays on the host for the console";
    } else {
      d.assignment = Assignment::kVfio;
      d.rule = "default";
      d.reason = "not the boot VGA: passed through to VMs by default";
    }
    d.one_start_per_boot = f != nullptr && f->reset_methods.empty();
    out.gpus.push_back(std::move(d));
  }

  const size_t num_gpus = out.gpus.size();
  DecideDevices(inv, policy, &out.gpus);  // decided together, split at the end
  for (size_t i = num_gpus; i < out.gpus.size(); ++i) owner[out.gpus[i].gpu] = i;

  // Refuse vfio where it cannot work; a refusal can make another GPU of the
  // same group unviable, so repeat until nothing changes.
  auto refuse = [&](GpuDecision& d, const std::string& why) {
    d.assignment = Assignment::kHost;
    d.reason += "; stays on the host: " + why;
    out.warnings.push_back({d.gpu.ToString(), "wanted on vfio but stays on the host: " + why});
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < out.gpus.size(); ++i) {
      GpuDecision& d = out.gpus[i];
      if (d.assignment != Assignment::kVfio) continue;
      if (!inv.system.iommu.enabled && inv.iommu_groups.empty()) {
        refuse(d,
               "the IOMMU is off (no /sys/class/iommu); it needs the IOMMU kernel parameter "
               "and a reboot");
        changed = true;
        continue;
      }
      std::string why;
      for (const auto& fn : d.functions) {
        const PciFunction* f = inv.Find(fn);
        if (f == nullptr || !f->iommu_group) {
          why = fn.ToString() + " has no IOMMU group";
          break;
        }
        const inventory::IommuGroup* grp = inv.Group(*f->iommu_group);
        if (grp == nullptr) {
          why = "IOMMU group " + std::to_string(*f->iommu_group) + " is not listed";
          break;
        }
        for (const auto& m : grp->members) {
          const PciFunction* mf = inv.Find(m);
          std::string critical = inv.CriticalWhy(m);
          std::string unknown = mf != nullptr ? inv.UnknownUseWhy(mf->class_id) : "";
          if (!critical.empty()) {
            why = "IOMMU group " + std::to_string(grp->id) + " holds " + Describe(inv, m) + ", " +
                  critical;
          } else if (!unknown.empty()) {
            // Fail closed: which disks or NICs the host needs is not known.
            why = "IOMMU group " + std::to_string(grp->id) + " holds " + Describe(inv, m) + ", a " +
                  ((mf->class_id >> 8) == 0x01 ? "storage" : "network") +
                  " controller, and the host's use of those is unknown (" + unknown + ")";
          } else if (mf != nullptr && IsBridge(*mf)) {
            continue;
          } else if (auto o = owner.find(m);
                     o != owner.end() && out.gpus[o->second].assignment == Assignment::kHost) {
            why = "IOMMU group " + std::to_string(grp->id) + " also holds " + Describe(inv, m) +
                  " of " + out.gpus[o->second].gpu.ToString() + ", which stays on the host";
          }
          if (!why.empty()) break;
        }
        if (!why.empty()) break;
      }
      if (!why.empty()) {
        refuse(d, why);
        changed = true;
      }
    }
  }

  // Every endpoint of a vfio GPU's groups goes with it.
  std::map<PciAddress, bool> seen;
  for (const auto& d : out.gpus) {
    if (d.assignment != Assignment::kVfio) continue;
    for (const auto& fn : d.functions) {
      if (!seen[fn]) {
        seen[fn] = true;
        out.vfio_functions.push_back(
            {fn, fn == d.gpu ? d.reason : "function of GPU " + d.gpu.ToString()});
      }
    }
    for (const auto& fn : d.functions) {
      const PciFunction* f = inv.Find(fn);
      const inventory::IommuGroup* grp = inv.Group(*f->iommu_group);
      for (const auto& m : grp->members) {
        const PciFunction* mf = inv.Find(m);
        if (seen[m] || (mf != nullptr && IsBridge(*mf))) continue;
        seen[m] = true;
        out.vfio_functions.push_back(
            {m, "shares IOMMU group " + std::to_string(grp->id) + " with " + d.gpu.ToString()});
      }
    }
  }
  out.devices.assign(out.gpus.begin() + static_cast<long>(num_gpus), out.gpus.end());
  out.gpus.resize(num_gpus);
  for (const auto& d : out.gpus) {
    if (d.assignment == Assignment::kVfio && d.one_start_per_boot) {
      out.warnings.push_back(
          {d.gpu.ToString(), "no usable reset method: one VM start per host boot"});
    }
  }
  return out;
}

}  // namespace gpuhost::plan
