#include "fleet/boot_nic.h"

#include <cctype>
#include <cstdint>
#include <limits>
#include <vector>

#include "base/strings.h"

namespace gpuhost::fleet {
namespace {

constexpr int kMaxDepth = 8;  // lower_ links that loop in a corrupt tree
const std::string kNet = "/sys/class/net/";

std::string ReadTrimmed(const Fs& fs, const std::string& path) {
  auto text = fs.Read(path);
  return text.ok() ? std::string(Trim(*text)) : "";
}

bool HasDevice(const Fs& fs, const std::string& iface) {
  return fs.Exists(kNet + iface + "/device");
}

// The interface's own MAC: a bond slave's permanent one, else `address`.
std::string MacOf(const Fs& fs, const std::string& iface) {
  std::string perm = NormalizeMac(ReadTrimmed(fs, kNet + iface + "/bonding_slave/perm_hwaddr"));
  if (!perm.empty()) return perm;
  return NormalizeMac(ReadTrimmed(fs, kNet + iface + "/address"));
}

// From a bridge, bond or VLAN down to an interface with hardware.
std::string Physical(const Fs& fs, const std::string& iface, int depth) {
  if (HasDevice(fs, iface)) return iface;
  if (depth >= kMaxDepth) return "";
  auto entries = fs.List(kNet + iface);
  if (!entries.ok()) return "";
  for (const auto& e : *entries) {
    if (!StartsWith(e, "lower_")) continue;
    std::string found = Physical(fs, e.substr(6), depth + 1);
    if (!found.empty()) return found;
  }
  return "";
}

std::vector<std::string> Interfaces(const Fs& fs) {
  auto all = fs.List("/sys/class/net");
  return all.ok() ? *all : std::vector<std::string>{};
}

// Rule 1: BOOTIF=01-aa-bb-cc-dd-ee-ff (01: the ARP hardware type, Ethernet).
bool FromBootif(const Fs& fs, BootNic* out) {
  auto cmdline = fs.Read("/proc/cmdline");
  if (!cmdline.ok()) return false;
  for (const auto& word : Split(Trim(*cmdline), ' ')) {
    if (!StartsWith(word, "BOOTIF=")) continue;
    std::string v = word.substr(7);
    if (StartsWith(v, "01-")) v = v.substr(3);
    std::string mac = NormalizeMac(v);
    if (mac.empty()) continue;
    out->mac = mac;
    out->how = "BOOTIF=" + word.substr(7) + " on the kernel command line";
    for (const auto& iface : Interfaces(fs)) {
      if (MacOf(fs, iface) == mac) {
        out->iface = iface;
        break;
      }
    }
    return true;
  }
  return false;
}

// Rule 2: the IPv4 default route's interface.
bool FromDefaultRoute(const Fs& fs, BootNic* out) {
  auto table = fs.Read("/proc/net/route");
  if (!table.ok()) return false;
  auto lines = Split(*table, '\n');
  std::string best;
  uint64_t best_metric = std::numeric_limits<uint64_t>::max();
  for (size_t i = 1; i < lines.size(); ++i) {
    // Iface Destination Gateway Flags RefCnt Use Metric Mask MTU Window IRTT
    std::vector<std::string> f;
    for (const auto& w : Split(lines[i], '\t')) {
      for (const auto& x : Split(w, ' ')) {
        if (!x.empty()) f.push_back(x);
      }
    }
    if (f.size() < 8 || f[0] == "lo") continue;
    auto dest = ParseHex(f[1]);
    auto flags = ParseHex(f[3]);
    auto metric = ParseInt(f[6]);
    auto mask = ParseHex(f[7]);
    if (!dest || !mask || !flags || !metric || *dest != 0 || *mask != 0) continue;
    if ((*flags & 0x1) == 0) continue;  // RTF_UP
    if (static_cast<uint64_t>(*metric) < best_metric) {
      best = f[0];
      best_metric = static_cast<uint64_t>(*metric);
    }
  }
  if (best.empty()) return false;
  std::string phys = Physical(fs, best, 0);
  if (phys.empty()) {
    out->how = "the default route's interface " + best + " has no network device under it";
    return false;
  }
  std::string mac = MacOf(fs, phys);
  if (mac.empty()) {
    out->how = "the default route's interface " + phys + " has no Ethernet MAC address";
    return false;
  }
  out->iface = phys;
  out->mac = mac;
  out->how = phys == best ? "the IPv4 default route's interface " + phys
                          : "under " + best + ", the IPv4 default route's interface: " + phys;
  return true;
}

// Rule 3: the first Ethernet NIC that is up.
bool FirstUp(const Fs& fs, BootNic* out) {
  for (const auto& iface : Interfaces(fs)) {
    if (!HasDevice(fs, iface) || ReadTrimmed(fs, kNet + iface + "/type") != "1") continue;
    if (ReadTrimmed(fs, kNet + iface + "/operstate") != "up") continue;
    std::string mac = MacOf(fs, iface);
    if (mac.empty()) continue;
    out->iface = iface;
    out->mac = mac;
    out->how = "no IPv4 default route: the first Ethernet interface that is up, " + iface;
    return true;
  }
  return false;
}

}  // namespace

std::string NormalizeMac(const std::string& text) {
  std::string s(Trim(text));
  if (s.size() != 17) return "";
  std::string out;
  char sep = s[2];
  if (sep != ':' && sep != '-') return "";
  bool nonzero = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (i % 3 == 2) {
      if (c != sep) return "";
      out += '-';
      continue;
    }
    if (std::isxdigit(static_cast<unsigned char>(c)) == 0) return "";
    if (c != '0') nonzero = true;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return nonzero ? out : "";
}

BootNic FindBootNic(const Fs& fs) {
  BootNic nic;
  if (FromBootif(fs, &nic)) return nic;
  BootNic route;
  if (FromDefaultRoute(fs, &route)) return route;
  if (FirstUp(fs, &nic)) return nic;
  nic.how = route.how.empty() ? "no BOOTIF= on the kernel command line, no IPv4 default route "
                                "and no Ethernet interface that is up"
                              : route.how + ", and no other Ethernet interface is up";
  return nic;
}

}  // namespace gpuhost::fleet
