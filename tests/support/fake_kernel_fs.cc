#include "support/fake_kernel_fs.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "base/fileio.h"
#include "base/strings.h"

namespace gpuhost::testing {

void FakeKernelFs::Step(const std::string& entry) {
  if (die_at_ > 0 && static_cast<int>(log_.size()) + 1 == die_at_) _exit(99);
  log_.push_back(entry);
}

Status FakeKernelFs::WriteAtomic(const std::string& path, std::string_view data, unsigned mode) {
  auto old = Read(path);
  if (old.ok() && *old == data) return RootFs::WriteAtomic(path, data, mode);  // no-op write
  Step("write " + path);
  return RootFs::WriteAtomic(path, data, mode);
}

Status FakeKernelFs::Symlink(const std::string& target, const std::string& path) {
  Step("link " + path);
  return RootFs::Symlink(target, path);
}

Status FakeKernelFs::WriteAttribute(const std::string& path, std::string_view value,
                                    bool skip_if_same) {
  std::string v(Trim(value));
  if (skip_if_same) {
    if (auto old = Read(path); old.ok() && Trim(*old) == v) return Status::Ok();
  }
  Step("attr " + path + "=" + v);
  if (StartsWith(path, "/sys/bus/pci/devices/") && path.size() > 7 &&
      path.substr(path.size() - 7) == "/unbind") {
    // dev/driver/unbind: the value names the device.
    std::string dev = "/sys/bus/pci/devices/" + v;
    if (!Exists(dev + "/driver")) return Status::NotFound("unbind " + v + ": no driver");
    if (v == stuck_) return Status::Ok();
    if (v == hanging_) return RootFs::WriteAttribute(path, value, false);
    std::filesystem::remove(HostPath(dev + "/driver"));
    return Status::Ok();
  }
  if (path == "/sys/bus/pci/drivers_probe") {
    std::string dev = "/sys/bus/pci/devices/" + v;
    if (!Exists(dev)) return Status::NotFound("drivers_probe " + v);
    if (Exists(dev + "/driver")) return Status::Ok();
    auto ov = Read(dev + "/driver_override");
    std::string drv = ov.ok() ? std::string(Trim(*ov)) : "";
    if (drv.empty() || drv == "(null)" || !IsDir("/sys/bus/pci/drivers/" + drv)) {
      return Status::Ok();  // the kernel says yes even when nothing bound
    }
    auto target = ReadLink(dev);
    std::string real = target.ok() ? *target : "";
    // driver link: relative from the device directory to the driver.
    std::string devdir = std::filesystem::weakly_canonical(HostPath(dev)).string();
    std::string rel = std::filesystem::path(HostPath("/sys/bus/pci/drivers/" + drv))
                          .lexically_relative(devdir)
                          .string();
    std::filesystem::create_symlink(rel, devdir + "/driver");
    return Status::Ok();
  }
  if (StartsWith(path, "/sys/bus/pci/drivers/") && path.size() > 5 &&
      path.substr(path.size() - 5) == "/bind") {
    std::string drv = path.substr(21, path.size() - 21 - 5);
    std::string dev = "/sys/bus/pci/devices/" + v;
    if (Exists(dev + "/driver")) return Status::Busy("bind " + v + ": already bound");
    std::string devdir = std::filesystem::weakly_canonical(HostPath(dev)).string();
    std::filesystem::create_symlink(
        std::filesystem::path(HostPath("/sys/bus/pci/drivers/" + drv)).lexically_relative(devdir),
        devdir + "/driver");
    return Status::Ok();
  }
  // Plain attributes (driver_override, /proc/sys): the value replaces the old.
  if (!Exists(path)) return Status::NotFound(path);
  return WriteFileAtomic(HostPath(path), v + "\n", 0644);
}

Status FakeModuleLoader::Load(const std::string& name, const std::string&) {
  if (std::find(missing.begin(), missing.end(), name) != missing.end()) {
    return Status::NotFound("module " + name + " is not installed for the running kernel");
  }
  std::string n = name;
  std::replace(n.begin(), n.end(), '-', '_');
  fs_.Step("modprobe " + n);
  std::filesystem::create_directories(fs_.HostPath("/sys/module/" + n));
  if (n == "vfio_pci")
    std::filesystem::create_directories(fs_.HostPath("/sys/bus/pci/drivers/vfio-pci"));
  return Status::Ok();
}

}  // namespace gpuhost::testing
