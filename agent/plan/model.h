// What the agent decided: the plan stage's output, a pure function of the
// inventory and the policy. An ordered list of actions, each with its reason.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "inventory/model.h"

namespace gpuhost::plan {

using inventory::PciAddress;
using inventory::Warning;

enum class Assignment { kHost, kVfio };
const char* AssignmentName(Assignment a);  // "host", "vfio"

struct GpuDecision {
  PciAddress gpu;
  std::vector<PciAddress> functions;  // the GPU and its companions, in order
  Assignment assignment = Assignment::kHost;
  std::string rule;    // "policy rule 2" or "default"
  std::string reason;  // one sentence a person can act on
  // No usable reset_method: a VM can start with it once per host boot.
  bool one_start_per_boot = false;
};

enum class ActionKind {
  kLoadModule,        // target: module name; value: options
  kBindVfio,          // target: PCI address; value: the driver it has now ("" none)
  kWriteFile,         // target: root-relative path; value: contents
  kSetSysctl,         // target: key (net.ipv4...); value: wanted value
  kKernelParam,       // target: parameter ("intel_iommu=on"); checked against /proc/cmdline
  kUpdateBootloader,  // target: "grub"; regenerate its configuration
  kRequestReboot,     // target: the missing parameters
  // target: PCI address the policy keeps on the host; value: its driver now.
  // Nothing to do on a host driver; on vfio-pci (an earlier policy's) it is
  // given back live: driver_override cleared, unbind, probe, read back.
  kKeepOnHost,
};
const char* ActionKindName(ActionKind k);  // "load-module", "bind-vfio", ...

struct Action {
  ActionKind kind = ActionKind::kLoadModule;
  std::string target;
  std::string value;
  std::string reason;
};

struct Plan {
  std::vector<GpuDecision> gpus;
  // Non-GPU functions a policy "devices" rule named; `gpu` is the function.
  std::vector<GpuDecision> devices;
  std::vector<Action> actions;
  std::vector<std::string> kernel_params;  // the wanted set, in order
  std::vector<Warning> warnings;
};

}  // namespace gpuhost::plan
