// Which machine this is: the ids an operator matches a node by in other
// inventories (a CMDB, the cloud's API, the BMC), recorded by the agent
// because the SMBIOS ones are readable by root only and serve is not root.
#pragma once

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

// Reads /etc/machine-id and /sys/class/dmi/id/product_{uuid,serial}, each
// trimmed. A file that is absent (VMs without SMBIOS, containers) or cannot
// be read leaves its field "" and adds no warning: these are labels, and a
// run is never degraded for lacking one.
Identity ScanIdentity(const Fs& fs);

}  // namespace gpuhost::inventory
