// The blank-separated fields of one line of a /proc table (/proc/swaps,
// /proc/net/route, /proc/net/ipv6_route pad with spaces and tabs alike).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace gpuhost::inventory {

inline std::vector<std::string> ProcFields(std::string_view line) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r') ++i;
    if (i > start) out.emplace_back(line.substr(start, i - start));
  }
  return out;
}

}  // namespace gpuhost::inventory
