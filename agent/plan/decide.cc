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
std::vector<GpuDecision> DecideDevices(const Inventory& inv, const Policy& policy) {
  std::vector<GpuDecision> out;
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
      out.push_back(std::move(d));
      break;
    }
  }
  return out;
}

// One GPU with its companions: the first policy rule that matches, else the
// default (the boot VGA stays for the console, any other goes to vfio).
GpuDecision DecideGpu(const Inventory& inv, const Policy& policy, const Gpu& g) {
  const PciFunction* f = inv.Find(g.address);
  GpuDecision d;
  d.gpu = g.address;
  d.functions.push_back(g.address);
  for (const auto& c : g.companions) d.functions.push_back(c);
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
  return d;
}

// Which decision each function belongs to: a GPU's functions, a device.
using Owners = std::map<PciAddress, const GpuDecision*>;

// Why member `m` of `grp` keeps the group off vfio-pci, "" when it does not.
std::string MemberBlocks(const Inventory& inv, const inventory::IommuGroup& grp,
                         const PciAddress& m, const Owners& owner) {
  const PciFunction* mf = inv.Find(m);
  const std::string group = "IOMMU group " + std::to_string(grp.id);
  if (std::string critical = inv.CriticalWhy(m); !critical.empty()) {
    return group + " holds " + Describe(inv, m) + ", " + critical;
  }
  if (std::string unknown = mf != nullptr ? inv.UnknownUseWhy(mf->class_id) : "";
      !unknown.empty()) {
    // Fail closed: which disks or NICs the host needs is not known.
    return group + " holds " + Describe(inv, m) + ", a " +
           ((mf->class_id >> 8) == 0x01 ? "storage" : "network") +
           " controller, and the host's use of those is unknown (" + unknown + ")";
  }
  if (mf != nullptr && IsBridge(*mf)) return "";
  if (auto o = owner.find(m); o != owner.end() && o->second->assignment == Assignment::kHost) {
    return group + " also holds " + Describe(inv, m) + " of " + o->second->gpu.ToString() +
           ", which stays on the host";
  }
  return "";
}

// Why the functions of `d` cannot go to vfio-pci, "" when they can: each
// needs an IOMMU group, and no member of those groups may hold it back.
std::string WhyNotVfio(const Inventory& inv, const GpuDecision& d, const Owners& owner) {
  if (!inv.system.iommu.enabled && inv.iommu_groups.empty()) {
    return "the IOMMU is off (no /sys/class/iommu); it needs the IOMMU kernel parameter "
           "and a reboot";
  }
  for (const auto& fn : d.functions) {
    const PciFunction* f = inv.Find(fn);
    if (f == nullptr || !f->iommu_group) return fn.ToString() + " has no IOMMU group";
    const inventory::IommuGroup* grp = inv.Group(*f->iommu_group);
    if (grp == nullptr) {
      return "IOMMU group " + std::to_string(*f->iommu_group) + " is not listed";
    }
    for (const auto& m : grp->members) {
      if (std::string why = MemberBlocks(inv, *grp, m, owner); !why.empty()) return why;
    }
  }
  return "";
}

// Refuses vfio where it cannot work. A refusal can make another decision
// of the same group unviable, so this repeats until nothing changes.
void RefuseUnviable(const Inventory& inv, const std::vector<GpuDecision*>& all,
                    std::vector<Warning>* warnings) {
  Owners owner;
  for (const GpuDecision* d : all) {
    for (const auto& fn : d->functions) owner[fn] = d;
  }
  for (bool changed = true; changed;) {
    changed = false;
    for (GpuDecision* d : all) {
      if (d->assignment != Assignment::kVfio) continue;
      std::string why = WhyNotVfio(inv, *d, owner);
      if (why.empty()) continue;
      d->assignment = Assignment::kHost;
      d->reason += "; stays on the host: " + why;
      warnings->push_back({d->gpu.ToString(), "wanted on vfio but stays on the host: " + why});
      changed = true;
    }
  }
}

// Every endpoint of a vfio decision's groups goes with it: its functions
// first, then the other endpoints of their groups (bridges stay).
std::vector<std::pair<PciAddress, std::string>> VfioFunctions(
    const Inventory& inv, const std::vector<GpuDecision*>& all) {
  std::vector<std::pair<PciAddress, std::string>> out;
  std::map<PciAddress, bool> seen;
  for (const GpuDecision* d : all) {
    if (d->assignment != Assignment::kVfio) continue;
    for (const auto& fn : d->functions) {
      if (seen[fn]) continue;
      seen[fn] = true;
      out.push_back({fn, fn == d->gpu ? d->reason : "function of GPU " + d->gpu.ToString()});
    }
    for (const auto& fn : d->functions) {
      const inventory::IommuGroup* grp = inv.Group(*inv.Find(fn)->iommu_group);
      for (const auto& m : grp->members) {
        const PciFunction* mf = inv.Find(m);
        if (seen[m] || (mf != nullptr && IsBridge(*mf))) continue;
        seen[m] = true;
        out.push_back(
            {m, "shares IOMMU group " + std::to_string(grp->id) + " with " + d->gpu.ToString()});
      }
    }
  }
  return out;
}

}  // namespace

Decisions DecideGpus(const Inventory& inv, const Policy& policy) {
  Decisions out;
  for (const Gpu& g : inv.gpus) out.gpus.push_back(DecideGpu(inv, policy, g));
  out.devices = DecideDevices(inv, policy);
  // GPUs and devices are judged together: a device kept on the host keeps
  // a GPU of its group there too, and the other way round.
  std::vector<GpuDecision*> all;
  for (auto& d : out.gpus) all.push_back(&d);
  for (auto& d : out.devices) all.push_back(&d);
  RefuseUnviable(inv, all, &out.warnings);
  out.vfio_functions = VfioFunctions(inv, all);
  for (const auto& d : out.gpus) {
    if (d.assignment == Assignment::kVfio && d.one_start_per_boot) {
      out.warnings.push_back(
          {d.gpu.ToString(), "no usable reset method: one VM start per host boot"});
    }
  }
  return out;
}

}  // namespace gpuhost::plan
