// Which NIC the node booted from, for the {mac} of the policy URL template
// (docs/fleet.md, "Which MAC"). Read through Fs: works on a --root tree.
#pragma once

#include <string>

#include "host/fs.h"

namespace gpuhost::fleet {

struct BootNic {
  std::string iface;  // "enp1s0"; "" when none was found
  std::string mac;    // "aa-bb-cc-dd-ee-ff" (lower case, hyphens); "" when none
  std::string how;    // which rule chose it, or why none was found: for the state file
};

// The rule, first match wins:
//  1. BOOTIF=01-aa-bb-cc-dd-ee-ff on /proc/cmdline (what PXELINUX and iPXE
//     scripts pass: the NIC the firmware booted from), the interface with that
//     address if one is there;
//  2. the interface of the IPv4 default route in /proc/net/route (lowest
//     metric, then first listed); a bridge, bond or VLAN (no `device` link) is
//     followed to its lower interfaces (lower_*, first by name) until one with
//     a device; a bond slave's permanent address (bonding_slave/perm_hwaddr)
//     is its MAC, since the bond rewrites `address`;
//  3. no default route: the first Ethernet interface by name (type 1) with a
//     `device` link whose operstate is "up".
// Only 6-byte Ethernet addresses count; all-zero ones do not.
BootNic FindBootNic(const Fs& fs);

// "AA:BB:cc:dd:ee:ff" or "aa-bb-cc-dd-ee-ff" -> "aa-bb-cc-dd-ee-ff"; "" when
// it is not a 6-byte MAC address in one of those forms (or all zero).
std::string NormalizeMac(const std::string& text);

}  // namespace gpuhost::fleet
