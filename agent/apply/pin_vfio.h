// The first step of every boot for passthrough functions: driver_override
// set to vfio-pci before udev's coldplug loads any driver. udev handles
// devices in parallel, so without it a host GPU's event can load the driver
// (nvidia, bochs-drm) that then probes a passthrough GPU of the same kind
// before that GPU's own event (70-gpuhost-vfio.rules) set its override, and
// the boot finds the GPU on the host driver again.
//
// The functions are read from the agent's own udev rules (plan::UdevRules):
// one list for both. Only the override is written: nothing is unbound here
// (a function a driver already holds, from the initrd, is apply's to move,
// through the holders gate), and a slot now holding another device is left
// alone.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::apply {

struct PinTarget {
  inventory::PciAddress address;
  // Named by the rule since the rules carry them; a rule without them (an
  // older agent's) pins by address, as that rule itself does at add.
  std::optional<uint16_t> vendor_id;
  std::optional<uint16_t> device_id;
};

// The rules' functions: every line not blank or a '#' comment must be one
// of plan::UdevRules' (ACTION add, SUBSYSTEM pci, KERNEL an address,
// ATTR{driver_override}="vfio-pci"). Anything else makes it all Invalid,
// naming `file` and the line: rules that are not the agent's pin nothing.
Result<std::vector<PinTarget>> ParseVfioRules(const std::string& text, const std::string& file);

struct PinOutcome {
  std::string address;
  bool failed = false;  // the override could not be written
  std::string message;  // what was done, or why not
};

std::vector<PinOutcome> PinVfio(Fs& fs, const std::vector<PinTarget>& targets);

}  // namespace gpuhost::apply
