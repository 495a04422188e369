#include "inventory/device_path.h"

#include "base/path.h"
#include "base/strings.h"

namespace gpuhost::inventory {

std::optional<PciAddress> DeepestPci(const std::string& path) {
  std::optional<PciAddress> found;
  for (const auto& part : Split(path, '/')) {
    if (auto a = PciAddress::Parse(part)) found = a;
  }
  return found;
}

Result<std::string> ClassDevice(const Fs& fs, const std::string& link) {
  auto target = fs.ReadLink(link);
  if (!target.ok()) return target.status();
  return ResolveLink(link, *target);
}

}  // namespace gpuhost::inventory
