// The status page's "Policy" section: which source the run's policy came
// from (a fleet's node file, the fleet default, the last good one, the local
// one) and why the sources before it were passed over (docs/fleet.md).
#pragma once

#include <string>

#include "result/state.h"

namespace gpuhost::report {

// HTML of the section (escaped); "" when the state does not say.
std::string RenderPolicySection(const result::State& s);

}  // namespace gpuhost::report
