// What the agent decided: the plan stage's output, a pure function of the
// inventory and the policy. An ordered list of actions, each with its reason.
#pragma once

#include <optional>
#include <string>
#include <variant>
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

// What an action does, as the result file and the journal name it.
enum class ActionKind {
  kLoadModule,
  kBindVfio,
  kWriteFile,
  kSetSysctl,
  kKernelParam,
  kUpdateBootloader,
  kRequestReboot,
  kKeepOnHost,
};
const char* ActionKindName(ActionKind k);  // "load-module", "bind-vfio", ...

// Whether a wanted kernel parameter is on the running kernel's command line.
enum class ParamState { kPresent, kMissing };
const char* ParamStateName(ParamState s);  // "present", "missing"

// One payload type per kind of action: what apply needs to carry it out,
// typed. In the result file each is a "target" and a "value" string
// (Action::Target, Action::Value; plan/json.cc reads them back).
namespace act {

struct LoadModule {
  std::string module;   // "vfio_pci"
  std::string options;  // "modeset=1", "" none
};

// Move a function to vfio-pci.
struct BindVfio {
  PciAddress address;
  std::string driver;  // the driver it has now, "" none
};

struct WriteFile {
  std::string path;  // root-relative
  std::string contents;
};

struct SetSysctl {
  std::string key;  // "kernel.kptr_restrict"
  std::string value;
};

// A check, not a change: is the parameter on /proc/cmdline?
struct KernelParam {
  std::string param;  // "intel_iommu=on"
  ParamState state = ParamState::kMissing;
};

// Regenerate the bootloader's configuration.
struct UpdateBootloader {
  std::string bootloader;  // "grub"
};

struct RequestReboot {
  std::string missing;  // the missing kernel parameters, space-separated
};

// A function the policy keeps on the host. Nothing to do on a host driver;
// on vfio-pci (an earlier policy's) it is given back live: driver_override
// cleared, unbind, probe, read back.
struct KeepOnHost {
  PciAddress address;
  std::string driver;  // the driver it has now, "" none
};

// `restore`: give a function the agent moved back to the driver it had,
// as STATE_DIR/original-drivers.json recorded it. A keep-on-host to the
// journal. No address: the record itself could not be read (`record`
// names it, and is the target).
struct Restore {
  std::optional<PciAddress> address;
  std::string original_driver;  // "" none
  std::string record;           // the record's path
};

}  // namespace act

using ActionPayload =
    std::variant<act::LoadModule, act::BindVfio, act::WriteFile, act::SetSysctl, act::KernelParam,
                 act::UpdateBootloader, act::RequestReboot, act::KeepOnHost, act::Restore>;

struct Action {
  ActionPayload payload;
  std::string reason;

  ActionKind Kind() const;
  // The result file's "target" and "value": the module and its options,
  // the address and its driver now, the path and its contents, the key and
  // its value, the parameter and "present"/"missing", the bootloader and "",
  // the missing parameters and "", a restore's address (or record) and its
  // original driver.
  std::string Target() const;
  std::string Value() const;
  // The payload when it is a T, else null.
  template <class T>
  const T* As() const {
    return std::get_if<T>(&payload);
  }
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
