#include "inventory/net_use.h"

#include <bit>
#include <cstdio>
#include <map>

#include "base/strings.h"
#include "inventory/device_path.h"
#include "inventory/proc_fields.h"

namespace gpuhost::inventory {
namespace {

constexpr int kMaxDepth = 8;  // a loop of lower_ links in a corrupt tree

// /proc/net/route prints addresses as the kernel's (little-endian) word.
std::string Ipv4(uint32_t v) {
  return std::to_string(v & 0xff) + "." + std::to_string((v >> 8) & 0xff) + "." +
         std::to_string((v >> 16) & 0xff) + "." + std::to_string(v >> 24);
}

// 32 hex digits -> "2001:db8:1::" (the longest run of zero groups folded).
std::string Ipv6(const std::string& hex) {
  uint16_t g[8] = {};
  for (int i = 0; i < 8; ++i)
    g[i] = static_cast<uint16_t>(ParseHex(hex.substr(i * 4, 4)).value_or(0));
  int best = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && g[j] == 0) ++j;
    if (j - i > best_len && j - i > 1) best = i, best_len = j - i;
    i = j == i ? i + 1 : j;
  }
  std::string out;
  for (int i = 0; i < 8; ++i) {
    if (i == best) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ":";
    char buf[8];
    std::snprintf(buf, sizeof buf, "%x", g[i]);
    out += buf;
  }
  return out;
}

// Interface -> why the host needs it; a default route wins over the others.
using Needed = std::map<std::string, std::string>;

void Note(Needed* needed, const std::string& iface, const std::string& why, bool is_default) {
  auto [it, added] = needed->try_emplace(iface, why);
  if (!added && is_default && !StartsWith(it->second, "default")) it->second = why;
}

void Ipv4Routes(const Fs& fs, Needed* needed, std::vector<UnknownUse>* unknown) {
  const std::string src = "/proc/net/route";
  auto table = fs.Read(src);
  if (!table.ok()) {
    unknown->push_back({UseClass::kNetwork, src, "cannot be read: " + table.status().ToString()});
    return;
  }
  auto lines = Split(*table, '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    // eth1  0000140A  00000000  0001  0  0  0  0000FFFF  0  0  0
    auto f = ProcFields(lines[i]);
    if (f.size() < 8 || f[0] == "lo") continue;
    auto dest = ParseHex(f[1]);
    auto mask = ParseHex(f[7]);
    if (!dest || !mask) continue;
    bool is_default = *mask == 0;
    std::string why = is_default ? "default route via " + f[0]
                                 : "route to " + Ipv4(static_cast<uint32_t>(*dest)) + "/" +
                                       std::to_string(std::popcount(static_cast<uint32_t>(*mask))) +
                                       " via " + f[0];
    Note(needed, f[0], why, is_default);
  }
}

// No IPv6 in this kernel: ipv6.disable=1, or built without it (a live
// /sys/module lists no ipv6). A capture without /sys/module proves nothing.
bool KernelWithoutIpv6(const Fs& fs) {
  if (auto d = fs.Read("/sys/module/ipv6/parameters/disable"); d.ok()) return Trim(*d) == "1";
  return fs.IsDir("/sys/module") && !fs.Exists("/sys/module/ipv6");
}

void Ipv6Routes(const Fs& fs, Needed* needed, std::vector<UnknownUse>* unknown) {
  const std::string src = "/proc/net/ipv6_route";
  auto table = fs.Read(src);
  if (!table.ok()) {
    if (table.status().IsNotFound() && KernelWithoutIpv6(fs)) return;
    unknown->push_back({UseClass::kNetwork, src, "cannot be read: " + table.status().ToString()});
    return;
  }
  for (const auto& line : Split(*table, '\n')) {
    // dest plen src splen nexthop metric refcnt use flags iface
    auto f = ProcFields(line);
    if (f.size() < 10 || f[0].size() != 32 || f[9] == "lo") continue;
    const std::string& d = f[0];
    // Every interface that is up has fe80::/64 and ff00::/8: not a use.
    if (StartsWith(d, "ff") || StartsWith(d, "fe8") || StartsWith(d, "fe9") ||
        StartsWith(d, "fea") || StartsWith(d, "feb")) {
      continue;
    }
    auto plen = ParseHex(f[1]);
    if (!plen) continue;
    bool is_default = *plen == 0;
    std::string why =
        is_default ? "default IPv6 route via " + f[9]
                   : "IPv6 route to " + Ipv6(d) + "/" + std::to_string(*plen) + " via " + f[9];
    Note(needed, f[9], why, is_default);
  }
}

// The PCI NICs under an interface: its own device, or those of its lower
// interfaces (bridge ports, bond slaves, a VLAN's parent). None for lo,
// tun, wireguard and other interfaces without hardware.
void Nics(const Fs& fs, const std::string& iface, int depth, std::vector<PciAddress>* out,
          bool* missing) {
  auto dir = ClassDevice(fs, "/sys/class/net/" + iface);
  if (!dir.ok()) {
    *missing = true;
    return;
  }
  if (auto a = DeepestPci(*dir)) {
    out->push_back(*a);
    return;
  }
  if (depth >= kMaxDepth) return;
  auto entries = fs.List(*dir);
  if (!entries.ok()) return;
  for (const auto& e : *entries) {
    if (StartsWith(e, "lower_")) Nics(fs, e.substr(6), depth + 1, out, missing);
  }
}

void Nbd(const Fs& fs, std::vector<UnknownUse>* unknown) {
  auto all = fs.List("/sys/class/block");
  if (!all.ok()) {
    if (all.status().IsNotFound()) return;  // no block device at all
    unknown->push_back({UseClass::kNetwork, "/sys/class/block",
                        "cannot be listed (nbd devices): " + all.status().ToString()});
    return;
  }
  for (const auto& n : *all) {
    if (!StartsWith(n, "nbd")) continue;
    auto pid = fs.Read("/sys/class/block/" + n + "/pid");
    if (!pid.ok()) continue;  // not connected
    unknown->push_back({UseClass::kNetwork, "/sys/class/block/" + n + "/pid",
                        "network block device " + n + " is connected (client pid " +
                            std::string(Trim(*pid)) +
                            "); sysfs does not say which NIC carries it"});
  }
}

void Iscsi(const Fs& fs, std::vector<CriticalDevice>* critical, std::vector<UnknownUse>* unknown) {
  const std::string cls = "/sys/class/iscsi_session";
  auto sessions = fs.List(cls);
  if (!sessions.ok()) {
    if (!sessions.status().IsNotFound()) {
      unknown->push_back(
          {UseClass::kNetwork, cls, "cannot be listed: " + sessions.status().ToString()});
    }
    return;  // NotFound: no iSCSI transport loaded
  }
  for (const auto& s : *sessions) {
    auto dir = ClassDevice(fs, cls + "/" + s);
    auto target = fs.Read(cls + "/" + s + "/targetname");
    std::string name = s + (target.ok() ? " (" + std::string(Trim(*target)) + ")" : "");
    if (dir.ok()) {
      if (auto a = DeepestPci(*dir)) {  // an offload HBA (bnx2i, qla4xxx, be2iscsi)
        critical->push_back({*a, "iSCSI " + name});
        continue;
      }
    }
    unknown->push_back({UseClass::kNetwork, cls + "/" + s,
                        "iSCSI " + name +
                            " runs over the network stack; sysfs does not say "
                            "which NIC carries it"});
  }
}

}  // namespace

NetUses ScanNetUses(const Fs& fs) {
  NetUses out;
  Needed needed;
  Ipv4Routes(fs, &needed, &out.unknown);
  Ipv6Routes(fs, &needed, &out.unknown);
  for (const auto& [iface, why] : needed) {
    std::vector<PciAddress> nics;
    bool missing = false;
    Nics(fs, iface, 0, &nics, &missing);
    for (const auto& a : nics) out.critical.push_back({a, why});
    if (missing) {
      out.unknown.push_back({UseClass::kNetwork, "/sys/class/net/" + iface,
                             why + ", but the interface (or one below it) is not in sysfs"});
    }
  }
  Nbd(fs, &out.unknown);
  Iscsi(fs, &out.critical, &out.unknown);
  return out;
}

}  // namespace gpuhost::inventory
