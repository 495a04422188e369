#include "inventory/critical_scan.h"

#include <algorithm>

#include "base/path.h"
#include "base/strings.h"

namespace gpuhost::inventory {
namespace {

// The deepest PCI address in a sysfs device path: the controller nearest to
// the disk or interface (the ones above it are bridges).
std::optional<PciAddress> DeepestPci(const std::string& path) {
  std::optional<PciAddress> found;
  for (const auto& part : Split(path, '/')) {
    if (auto a = PciAddress::Parse(part)) found = a;
  }
  return found;
}

// PCI controllers under a block device, following dm/md "slaves".
void BlockControllers(const Fs& fs, const std::string& dev_dir, int depth,
                      std::vector<PciAddress>* out) {
  if (depth > 8) return;  // a loop in a corrupt tree
  if (auto a = DeepestPci(dev_dir)) {
    out->push_back(*a);
    return;
  }
  auto slaves = fs.List(dev_dir + "/slaves");
  if (!slaves.ok()) return;
  for (const auto& s : *slaves) {
    std::string link = "/sys/class/block/" + s;
    auto target = fs.ReadLink(link);
    if (target.ok()) BlockControllers(fs, ResolveLink(link, *target), depth + 1, out);
  }
}

void RootDisk(const Fs& fs, std::vector<CriticalDevice>* out, std::vector<Warning>* w) {
  auto info = fs.Read("/proc/self/mountinfo");
  if (!info.ok()) {
    w->push_back(
        {"/proc/self/mountinfo", "cannot find the root disk: " + info.status().ToString()});
    return;
  }
  for (const auto& line : Split(*info, '\n')) {
    // 27 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
    auto f = Split(line, ' ');
    if (f.size() < 5 || f[4] != "/") continue;
    std::string majmin = f[2];
    std::string link = "/sys/dev/block/" + majmin;
    auto target = fs.ReadLink(link);
    if (!target.ok()) return;  // overlay, tmpfs, nfs root: no local disk to protect
    std::vector<PciAddress> ctrls;
    std::string dir = ResolveLink(link, *target);
    BlockControllers(fs, dir, 0, &ctrls);
    std::string name = dir.substr(dir.rfind('/') + 1);
    for (const auto& c : ctrls) out->push_back({c, "root file system on " + name});
  }
}

void DefaultRouteNic(const Fs& fs, std::vector<CriticalDevice>* out) {
  auto route = fs.Read("/proc/net/route");
  if (!route.ok()) return;
  for (const auto& line : Split(*route, '\n')) {
    auto f = Split(std::string(Trim(line)), '\t');
    if (f.size() < 2 || f[1] != "00000000") continue;
    std::string iface(Trim(f[0]));
    std::string link = "/sys/class/net/" + iface;
    auto target = fs.ReadLink(link);
    if (!target.ok()) continue;
    if (auto a = DeepestPci(ResolveLink(link, *target))) {
      out->push_back({*a, "default route via " + iface});
    }
  }
}

}  // namespace

std::vector<CriticalDevice> ScanCriticalDevices(const Fs& fs, const std::vector<PciFunction>& fns,
                                                std::vector<Warning>* warnings) {
  std::vector<CriticalDevice> out;
  RootDisk(fs, &out, warnings);
  DefaultRouteNic(fs, &out);
  for (const auto& f : fns) {
    if (f.boot_vga) out.push_back({f.address, "boot console (boot_vga)"});
  }
  std::sort(out.begin(), out.end(), [](const CriticalDevice& a, const CriticalDevice& b) {
    return a.address != b.address ? a.address < b.address : a.why < b.why;
  });
  out.erase(std::unique(out.begin(), out.end(),
                        [](const CriticalDevice& a, const CriticalDevice& b) {
                          return a.address == b.address && a.why == b.why;
                        }),
            out.end());
  return out;
}

}  // namespace gpuhost::inventory
