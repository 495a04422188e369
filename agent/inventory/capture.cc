#include "inventory/capture.h"

#include "base/path.h"
#include "inventory/model.h"
#include "inventory/redact.h"

namespace gpuhost::inventory {
namespace {

// The per-function attributes inventory and the later stages read.
constexpr const char* kFunctionFiles[] = {
    "vendor",
    "device",
    "subsystem_vendor",
    "subsystem_device",
    "class",
    "revision",
    "config",
    "boot_vga",
    "numa_node",
    "reset_method",
    "resource",
    "irq",
    "label",
    "modalias",
    "enable",
    "local_cpulist",
    "driver_override",
    "d3cold_allowed",
    "power_state",
    "current_link_speed",
    "current_link_width",
};
constexpr const char* kFunctionLinks[] = {"driver", "iommu_group"};
// Not /etc/machine-id nor /sys/class/dmi/id/product_{uuid,serial}: captures
// are shared as test data, and those name the machine (inventory/identity_scan.h).
constexpr const char* kProcFiles[] = {"/proc/cpuinfo",
                                      "/proc/meminfo",
                                      "/proc/cmdline",
                                      "/proc/sys/kernel/osrelease",
                                      "/proc/iomem",
                                      "/proc/self/mountinfo",
                                      "/proc/net/route",
                                      "/proc/swaps",
                                      "/proc/net/ipv6_route",
                                      "/sys/module/ipv6/parameters/disable",
                                      "/sys/class/tty/console/active"};
// Link folders that name the disks, NICs, consoles and iSCSI sessions the
// host uses (inventory/critical_scan.h).
constexpr const char* kLinkDirs[] = {"/sys/dev/block", "/sys/class/block", "/sys/class/net",
                                     "/sys/class/tty", "/sys/class/iscsi_session"};
// Per-device attributes and link folders the host-use scan reads.
constexpr const char* kDeviceFiles[] = {"dm/name", "pid", "targetname"};
constexpr const char* kDeviceLinkDirs[] = {"slaves", "holders"};

class Copier {
 public:
  Copier(const Fs& src, Fs& dst) : src_(src), dst_(dst) {}

  // Copies a regular file if it exists; a missing file is not an error.
  Status File(const std::string& path) {
    if (!src_.Exists(path)) return Status::Ok();
    auto data = src_.Read(path);
    if (!data.ok()) {
      stats_.warnings.push_back({path, "not captured: " + data.status().ToString()});
      return Status::Ok();
    }
    // A capture goes into bug reports: the command line's secrets stay here.
    if (path == "/proc/cmdline") *data = RedactCmdline(*data);
    Status s = dst_.WriteAtomic(path, *data, 0644);
    if (s.ok()) stats_.files++;
    return s;
  }
  // Copies a symlink as a link; returns its resolved target ("" if none).
  Result<std::string> Link(const std::string& path) {
    auto target = src_.ReadLink(path);
    if (!target.ok()) return std::string();
    Status s = dst_.Symlink(*target, path);
    if (!s.ok()) return s;
    stats_.links++;
    return ResolveLink(path, *target);
  }
  CaptureStats& stats() { return stats_; }

 private:
  const Fs& src_;
  Fs& dst_;
  CaptureStats stats_;
};

#define RETURN_IF_ERROR(expr) \
  do {                        \
    Status _s = (expr);       \
    if (!_s.ok()) return _s;  \
  } while (0)

}  // namespace

Result<CaptureStats> Capture(const Fs& src, Fs& dst) {
  Copier c(src, dst);
  auto names = src.List("/sys/bus/pci/devices");
  if (!names.ok()) {
    c.stats().warnings.push_back({"/sys/bus/pci/devices", names.status().ToString()});
  } else {
    for (const auto& n : *names) {
      auto dir = c.Link("/sys/bus/pci/devices/" + n);
      if (!dir.ok()) return dir.status();
      if (dir->empty()) continue;
      for (const char* f : kFunctionFiles) RETURN_IF_ERROR(c.File(*dir + "/" + f));
      for (const char* l : kFunctionLinks) {
        if (auto r = c.Link(*dir + "/" + l); !r.ok()) return r.status();
      }
    }
  }
  if (auto groups = src.List("/sys/kernel/iommu_groups"); groups.ok()) {
    for (const auto& g : *groups) {
      std::string dir = "/sys/kernel/iommu_groups/" + g;
      RETURN_IF_ERROR(c.File(dir + "/type"));
      if (auto members = src.List(dir + "/devices"); members.ok()) {
        for (const auto& m : *members) {
          if (auto r = c.Link(dir + "/devices/" + m); !r.ok()) return r.status();
        }
      }
    }
  }
  if (auto units = src.List("/sys/class/iommu"); units.ok()) {
    for (const auto& u : *units) {
      if (auto r = c.Link("/sys/class/iommu/" + u); !r.ok()) return r.status();
    }
  }
  for (const char* dir : kLinkDirs) {
    if (auto entries = src.List(dir); entries.ok()) {
      for (const auto& n : *entries) {
        auto target = c.Link(std::string(dir) + "/" + n);
        if (!target.ok()) return target.status();
        if (target->empty()) continue;
        // dm/md devices name their disks in slaves/, disks their users in holders/.
        for (const char* sub : kDeviceLinkDirs) {
          if (auto links = src.List(*target + "/" + sub); links.ok()) {
            for (const auto& l : *links) {
              if (auto r = c.Link(*target + "/" + sub + "/" + l); !r.ok()) return r.status();
            }
          }
        }
        for (const char* f : kDeviceFiles) RETURN_IF_ERROR(c.File(*target + "/" + f));
        // Bridge ports, bond slaves, a VLAN's parent.
        if (auto inside = src.List(*target); inside.ok()) {
          for (const auto& e : *inside) {
            if (e.rfind("lower_", 0) != 0) continue;
            if (auto r = c.Link(*target + "/" + e); !r.ok()) return r.status();
          }
        }
      }
    }
  }
  for (const char* table : {"DMAR", "IVRS"}) {
    RETURN_IF_ERROR(c.File(std::string("/sys/firmware/acpi/tables/") + table));
  }
  for (const char* f : kProcFiles) RETURN_IF_ERROR(c.File(f));
  // Imported ZFS pools (their disks are not in sysfs): one file per pool.
  if (auto pools = src.List("/proc/spl/kstat/zfs"); pools.ok()) {
    for (const auto& p : *pools) {
      if (src.IsDir("/proc/spl/kstat/zfs/" + p)) {
        RETURN_IF_ERROR(c.File("/proc/spl/kstat/zfs/" + p + "/state"));
      }
    }
  }
  // The NVIDIA driver maps each GPU to its /dev/nvidiaN here (holders check).
  if (auto gpus = src.List("/proc/driver/nvidia/gpus"); gpus.ok()) {
    for (const auto& g : *gpus) {
      RETURN_IF_ERROR(c.File("/proc/driver/nvidia/gpus/" + g + "/information"));
    }
  }
  RETURN_IF_ERROR(c.File("/proc/driver/nvidia/version"));
  // Only the presence of /dev/kvm matters: a plain file stands in for it.
  if (src.Exists("/dev/kvm")) RETURN_IF_ERROR(dst.WriteAtomic("/dev/kvm", "", 0644));
  return std::move(c.stats());
}

}  // namespace gpuhost::inventory
