// The fields of /proc/self/mountinfo the inventory reads: which device is
// mounted where, as what (block_use.cc: storage the host uses;
// system_scan.cc: automounts not to trigger).
#pragma once

#include <optional>
#include <string>

#include "base/strings.h"

namespace gpuhost::inventory {

// The kernel escapes blanks in mount points and swap file names: "\040".
inline std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

struct MountInfoLine {
  std::string dev;          // "254:0"
  std::string mount_point;  // unescaped
  std::string fstype;       // "" when the line has no "- TYPE SOURCE" part
  std::string source;       // unescaped
};

// 40 1 254:0 / /var/lib/libvirt/images rw,relatime shared:9 - ext4 /dev/vda rw
// nullopt for a line too short to name a mount point.
inline std::optional<MountInfoLine> ParseMountInfoLine(const std::string& line) {
  auto f = Split(line, ' ');
  if (f.size() < 5) return std::nullopt;
  MountInfoLine m{f[2], Unescape(f[4]), "", ""};
  for (size_t i = 5; i + 2 < f.size(); ++i) {
    if (f[i] == "-") {
      m.fstype = f[i + 1];
      m.source = Unescape(f[i + 2]);
      break;
    }
  }
  return m;
}

}  // namespace gpuhost::inventory
