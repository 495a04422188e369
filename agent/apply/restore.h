// `gpuhost-agent restore`: hand every function the agent moved to vfio-pci
// back to the driver it had before (recorded at bind time in
// STATE_DIR/original-drivers.json), without a reboot, through the same
// holders gate: a function a VM still uses stays where it is.
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"
#include "report/state.h"

namespace gpuhost::apply {

inline constexpr const char* kOriginalDrivers = "original-drivers.json";

// Records `driver` ("" for none) as the driver `addr` had before the agent
// moved it, unless a record exists already (the first one is the truth).
Status RecordOriginalDriver(Fs& fs, const std::string& state_dir, const inventory::PciAddress& addr,
                            const std::string& driver);

// One result per recorded function; outcome "done", "unchanged", "held" or
// "failed". Successful ones are removed from the record.
std::vector<report::ActionResult> Restore(Fs& fs, const inventory::Inventory& inv,
                                          const std::string& state_dir);

}  // namespace gpuhost::apply
