// Giving a function back from vfio-pci to a host driver, live (no reboot):
// `apply` does it when the policy now keeps a function on the host, and
// `gpuhost-agent restore` does it for every function the agent moved (the
// driver each had before is recorded at bind time in
// STATE_DIR/original-drivers.json). Both go through the same holders gate
// as binds: a function a VM or a process still uses stays where it is.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"
#include "result/state.h"

namespace gpuhost::apply {

inline constexpr const char* kOriginalDrivers = "original-drivers.json";

// A plain kernel driver name: [A-Za-z0-9_-]+ ("nvidia", "snd_hda_intel").
// Anything else read from the record ("../../x") is never put in a path.
bool IsDriverName(const std::string& name);

// Records `driver` ("" for none) as the driver `addr` had before the agent
// moved it, unless a record exists already (the first one is the truth).
// A record that cannot be read or is not valid (ReadOriginalDrivers) is the
// error, and the file is left as it is: never rewritten with less in it.
Status RecordOriginalDriver(Fs& fs, const std::string& state_dir, const inventory::PciAddress& addr,
                            const std::string& driver);

// The record: address -> driver ("" none). Invalid, naming the file (and
// the entry), when the file is not a JSON object of PCI addresses to driver
// names; an absent file is an empty record, one that cannot be read an error.
Result<std::map<std::string, std::string>> ReadOriginalDrivers(const Fs& fs,
                                                               const std::string& state_dir);

// Gives `addr` back to the host: clear driver_override, unbind from
// vfio-pci, drivers_probe, and when the probe bound nothing, bind to
// `original` (recorded, may be ""); read the driver back. The record entry
// is kept until the function is off vfio-pci, so a run killed between the
// unbind and the probe (no driver, no override) is finished by the next.
// Outcome "done", "unchanged" (not on vfio-pci), "held" or "failed".
void ReturnToHost(Fs& fs, const inventory::Inventory& inv, const std::string& state_dir,
                  const inventory::PciAddress& addr, result::ActionResult* r);

// `restore`: ReturnToHost for every recorded function. A record that is not
// valid is one failed result that says why, touches no device and leaves
// the record as it is.
std::vector<result::ActionResult> Restore(Fs& fs, const inventory::Inventory& inv,
                                          const std::string& state_dir);

}  // namespace gpuhost::apply
