// The status page's VM sections: KVM and libvirt, the VMs with their PCI
// devices, and each vfio GPU's owner with a ready-to-paste <hostdev> snippet.
#pragma once

#include <string>

#include "report/view.h"

namespace gpuhost::report {

// HTML of the sections (escaped); requires v.state.
std::string RenderVirtSections(const View& v);

}  // namespace gpuhost::report
