// Which of two image versions is newer, the way systemd-boot and
// systemd-sysupdate order them (the UAPI version format): runs of digits
// compare as numbers, runs of letters alphabetically, a digit run is newer
// than a letter run, '~' is older than anything (even the end), other
// characters only separate runs. The agent must order versions exactly as
// the boot loader does, or it would call a fallback what is an upgrade.
#pragma once

#include <string_view>

namespace gpuhost::boot {

// <0 when a is older than b, 0 when they are the same version, >0 newer.
int CompareVersions(std::string_view a, std::string_view b);

}  // namespace gpuhost::boot
