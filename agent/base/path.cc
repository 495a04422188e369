#include "base/path.h"

#include <vector>

#include "base/strings.h"

namespace gpuhost {

std::string NormalizePath(const std::string& path) {
  std::vector<std::string> parts;
  for (auto& p : Split(path, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(std::move(p));
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string ResolveLink(const std::string& link_path, const std::string& target) {
  if (!target.empty() && target[0] == '/') return NormalizePath(target);
  size_t slash = link_path.rfind('/');
  std::string dir = slash == std::string::npos ? "/" : link_path.substr(0, slash);
  return NormalizePath(dir + "/" + target);
}

}  // namespace gpuhost
