// Whether a systemd unit is active, asked over D-Bus without starting it.
#pragma once

#include <string>

namespace gpuhost {

// True only when systemd answers and the unit's ActiveState is "active".
// Never activates anything: the agent runs before libvirtd, and connecting
// to libvirt's socket then would wait for a daemon ordered after the agent.
bool UnitActive(const std::string& unit);

}  // namespace gpuhost
