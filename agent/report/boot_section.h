// The status page's "Image and updates" section: the running version, the
// versions installed in the ESP with their boot counters, whether this boot
// is blessed or on trial, and, on a node that fell back, from which version
// and why (docs/updates.md, section 4).
#pragma once

#include <string>

#include "report/view.h"

namespace gpuhost::report {

// HTML of the section (escaped); "" when the result has no boot state (an
// older agent wrote it).
std::string RenderBootSection(const View& v);

}  // namespace gpuhost::report
