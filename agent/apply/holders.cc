#include "apply/holders.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "base/path.h"
#include "base/strings.h"
#include "inventory/block_use.h"

namespace gpuhost::apply {
namespace {

// A /proc entry that names a process: digits only, and no more of them than
// the kernel's PID_MAX_LIMIT (4194304) has, so the number always fits an int.
std::optional<int> PidOf(const std::string& s) {
  if (s.empty() || s.size() > 7) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return std::stoi(s);
}

std::string Comm(const Fs& fs, const std::string& pid) {
  auto c = fs.Read("/proc/" + pid + "/comm");
  return c.ok() ? std::string(Trim(*c)) : "?";
}

// What the host keeps on this controller: mounts, swap and md/dm stacks, the
// same facts the inventory's critical devices come from.
std::vector<Holder> BlockHolders(const Fs& fs, const inventory::PciAddress& a) {
  std::vector<Holder> out;
  for (const auto& u : inventory::ScanBlockUses(fs).uses) {
    if (u.controller != a) continue;
    Holder h = u.kind == "mount" ? Holder{0, "mount", u.what} : Holder{0, u.kind, u.why};
    bool seen = std::any_of(out.begin(), out.end(),
                            [&](const Holder& o) { return o.name == h.name && o.what == h.what; });
    if (!seen) out.push_back(std::move(h));
  }
  return out;
}

}  // namespace

std::string CurrentDriver(const Fs& fs, const inventory::PciAddress& a) {
  auto l = fs.ReadLink("/sys/bus/pci/devices/" + a.ToString() + "/driver");
  return l.ok() ? l->substr(l->rfind('/') + 1) : "";
}

std::string Describe(const Holder& h) {
  if (h.pid == 0) return h.name == "mount" ? "file system mounted on " + h.what : h.what;
  return "pid " + std::to_string(h.pid) + " (" + h.name + ") has " + h.what + " open";
}

std::vector<std::string> DeviceNodes(const Fs& fs, const inventory::PciFunction& f) {
  std::vector<std::string> nodes;
  const std::string dev = "/sys/bus/pci/devices/" + f.address.ToString();
  if (auto drm = fs.List(dev + "/drm"); drm.ok()) {
    for (const auto& n : *drm) {
      if (StartsWith(n, "card") || StartsWith(n, "renderD")) nodes.push_back("/dev/dri/" + n);
    }
  }
  if (auto snd = fs.List(dev + "/sound"); snd.ok()) {
    for (const auto& n : *snd) {
      if (!StartsWith(n, "card")) continue;
      std::string idx = n.substr(4);
      if (auto all = fs.List("/dev/snd"); all.ok()) {
        for (const auto& node : *all) {
          // controlC1, pcmC1D3p, hwC1D0: the card index follows 'C'.
          size_t c = node.find('C');
          if (c == std::string::npos) continue;
          std::string rest = node.substr(c + 1);
          if (rest.rfind(idx, 0) == 0 &&
              (rest.size() == idx.size() ||
               !std::isdigit(static_cast<unsigned char>(rest[idx.size()])))) {
            nodes.push_back("/dev/snd/" + node);
          }
        }
      }
    }
  }
  auto info = fs.Read("/proc/driver/nvidia/gpus/" + f.address.ToString() + "/information");
  if (info.ok()) {
    for (const auto& line : Split(*info, '\n')) {
      if (StartsWith(line, "Device Minor:")) {
        nodes.push_back("/dev/nvidia" + std::string(Trim(line.substr(13))));
      }
    }
  }
  if (f.driver && *f.driver == "vfio-pci" && f.iommu_group) {
    nodes.push_back("/dev/vfio/" + std::to_string(*f.iommu_group));
  }
  return nodes;
}

std::vector<Holder> FindHolders(const Fs& fs, const inventory::PciFunction& f) {
  std::vector<Holder> out;
  std::vector<std::string> nodes = DeviceNodes(fs, f);
  bool nvidia = f.driver && (*f.driver == "nvidia" || StartsWith(*f.driver, "nvidia"));
  auto pids = fs.List("/proc");
  if (pids.ok()) {
    for (const auto& pid : *pids) {
      auto pid_number = PidOf(pid);
      if (!pid_number) continue;
      // nvidia-persistenced keeps every NVIDIA GPU open through nvidiactl.
      if (nvidia && Comm(fs, pid) == "nvidia-persiste") {
        out.push_back({*pid_number, "nvidia-persistenced", "every NVIDIA GPU (persistence)"});
        continue;
      }
      if (nodes.empty()) continue;
      auto fds = fs.List("/proc/" + pid + "/fd");
      if (!fds.ok()) continue;  // gone, or not ours to read
      for (const auto& fd : *fds) {
        auto target = fs.ReadLink("/proc/" + pid + "/fd/" + fd);
        if (!target.ok()) continue;
        if (std::find(nodes.begin(), nodes.end(), *target) != nodes.end()) {
          out.push_back({*pid_number, Comm(fs, pid), *target});
          break;
        }
      }
    }
  }
  for (auto& h : BlockHolders(fs, f.address)) out.push_back(std::move(h));
  return out;
}

}  // namespace gpuhost::apply
