// The VM side of the report, shared by the page, the JSON API and the
// metrics: what libvirt says (live when serve has a reading, else as the
// last run recorded it), VMs, and each vfio GPU's owner and <hostdev> snippet.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "libvirt/virt.h"
#include "report/view.h"

namespace gpuhost::report {

struct VirtSource {
  inventory::Virtualization virt;  // KVM from the state file, libvirt fields live when possible
  bool live = false;               // libvirt fields from serve's own reading
  std::string since;               // live: since when libvirt says this; else the run's end
};
// Requires v.state.
VirtSource EffectiveVirt(const View& v);

// A GPU the plan gives to VMs (assignment vfio).
struct VfioGpuRow {
  const inventory::Gpu* gpu = nullptr;
  std::vector<inventory::PciAddress> functions;  // the GPU, then its companions
  std::string owner;        // the VM that has any of them ("" free); running VMs first
  std::string owner_state;  // that VM's state ("running", "shut off", ...)
  bool owner_active = false;
  std::string node_cpus;  // its NUMA node's cpulist, "" when unknown
  virt::HostdevSnippet snippet;
};
std::vector<VfioGpuRow> VfioGpuRows(const State& s, const inventory::Virtualization& virt);

// The PCI functions of a VM named as GPUs or GPU companions where they are
// ("0000:06:00.0 (GPU 1234:11e8)") for the page; plain addresses otherwise.
std::string DescribeHostdev(const State& s, const inventory::PciAddress& a);

}  // namespace gpuhost::report
