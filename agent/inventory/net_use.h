// Which PCI network controllers the running host uses: the NIC of every
// route in /proc/net/route and /proc/net/ipv6_route (not only the default
// route; link-local and multicast IPv6 routes, which every interface that is
// merely up has, do not count), followed through bridges, bonds and VLANs
// (/sys/class/net/X/lower_*), and iSCSI HBAs. Software iSCSI sessions and
// connected nbd devices run over some NIC sysfs does not name: they make
// the network's use unknown, as an unreadable route table does.
// Limit: only the main routing table is in /proc/net/route.
#pragma once

#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

struct NetUses {
  std::vector<CriticalDevice> critical;  // "route to 10.20.0.0/16 via eth1"
  std::vector<UnknownUse> unknown;       // all of class kNetwork
};

NetUses ScanNetUses(const Fs& fs);

}  // namespace gpuhost::inventory
