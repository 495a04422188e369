// Requesting a reboot for missing kernel parameters, with a guard so a
// machine can never enter a reboot loop: a reboot is requested at most once
// for the same missing set; if the parameters are still missing after that
// reboot, the bootloader did not take them and the agent says so instead.
#pragma once

#include "apply/apply.h"

namespace gpuhost::apply {

inline constexpr const char* kRebootRequiredFile = "/run/gpuhost/reboot-required";

void RequestReboot(Env& env, const Options& opts, const plan::Action& a, result::ActionResult* r,
                   result::State* st);

}  // namespace gpuhost::apply
