// Small string helpers for sysfs/procfs text: values there end in "\n" and
// numbers come as decimal or 0x-hex.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gpuhost {

std::string_view Trim(std::string_view s);
std::vector<std::string> Split(std::string_view s, char sep);
bool StartsWith(std::string_view s, std::string_view prefix);
// ASCII case-insensitive equality (HTTP header names, kernel parameter values).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);
// Parses "0x10de", "10de" (base 16) or "-1"/"42" (base 10) exactly: the
// whole trimmed string must be a number that fits, else nullopt.
std::optional<uint64_t> ParseHex(std::string_view s);
std::optional<int64_t> ParseInt(std::string_view s);
// "ADDR:PORT" or "[IPv6]:PORT" split at the port's colon (the last one, or the one after
// "]"), brackets removed; nothing is validated. nullopt when there is no port colon.
struct HostPort {
  std::string host;
  std::string port;
  bool bracketed = false;
};
std::optional<HostPort> SplitHostPort(std::string_view s);
// "%04x"-style formatting without iostreams.
std::string Hex(uint64_t v, int width);

}  // namespace gpuhost
