// The apply stage: carry a plan out on the machine (or on a --root tree),
// read every change back, and say what happened. Each action first looks at
// what is there and does nothing when it is already as wanted, so a second
// run changes nothing and a run killed at any point is finished by the next.
#pragma once

#include <functional>
#include <string>

#include "host/commands.h"
#include "host/fs.h"
#include "host/modules.h"
#include "inventory/model.h"
#include "plan/model.h"
#include "result/state.h"

namespace gpuhost::apply {

struct Env {
  Fs& fs;
  ModuleLoader& modules;
  CommandRunner& commands;
  // Called after each action (journal, sd_notify STATUS=); may be empty.
  std::function<void(const result::ActionResult&)> on_action;
  // When set (libvirtd runs), binds go through libvirt's node device detach
  // instead of sysfs; the driver is read back the same way afterwards.
  std::function<Status(const inventory::PciAddress&)> detach;
};

struct Options {
  bool dry_run = false;  // decide and report, change nothing
  bool live = true;      // fs is the running system ("/"): may run commands
  bool reboot_when_needed = false;
  std::string state_dir = "/var/lib/gpuhost";  // root-relative
};

// Runs every action in order and returns the result. Never throws; a
// failed action is recorded and the next one still runs, except that
// binds are skipped when vfio-pci could not be loaded.
result::State Apply(const inventory::Inventory& inv, const plan::Plan& plan, Env& env,
                    const Options& opts);

// The individual steps, for tests and for `restore`. Each returns the
// outcome ("done", "unchanged", ...) in result->outcome.
void BindVfio(Fs& fs, const inventory::PciAddress& addr, result::ActionResult* result);
void BindVfioViaLibvirt(Fs& fs, const inventory::PciAddress& addr,
                        const std::function<Status(const inventory::PciAddress&)>& detach,
                        result::ActionResult* result);
void SetSysctl(Fs& fs, const std::string& key, const std::string& value,
               result::ActionResult* result, result::Check* check);

}  // namespace gpuhost::apply
