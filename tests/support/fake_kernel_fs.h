// A fixture tree that answers sysfs writes the way the kernel does, for the
// apply tests: unbind removes the driver link, drivers_probe binds the
// driver named by driver_override, /proc/sys values are replaced. Every
// mutating call is recorded, so tests check the order of writes and that a
// second run writes nothing. It can also stop the process at the Nth
// mutating call (the kill-at-every-step test).
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "host/modules.h"

namespace gpuhost::testing {

class FakeKernelFs : public RootFs {
 public:
  // Real attribute writes (set_hanging) get 300 ms before they time out.
  explicit FakeKernelFs(const std::string& root) : RootFs(root, 300) {}

  Status WriteAtomic(const std::string& path, std::string_view data, unsigned mode) override;
  Status WriteAttribute(const std::string& path, std::string_view value,
                        bool skip_if_same) override;
  Status Symlink(const std::string& target, const std::string& path) override;

  // "write PATH=VALUE" / "attr PATH=VALUE" per mutating call, in order.
  const std::vector<std::string>& log() const { return log_; }
  // _exit(99) just before mutating call number n (1-based); 0 never.
  void set_die_at(int n) { die_at_ = n; }
  // A device whose unbind never finishes its job (the driver stays).
  void set_stuck_unbind(const std::string& address) { stuck_ = address; }
  // A device whose unbind write is done for real on the tree, where a test
  // put a FIFO nobody reads: the write blocks as a wedged driver's would.
  void set_hanging_unbind(const std::string& address) { hanging_ = address; }

  // Records one mutating step (and dies there when asked to).
  void Step(const std::string& entry);

 private:
  std::vector<std::string> log_;
  int die_at_ = 0;
  std::string stuck_;
  std::string hanging_;
};

// Loads a module by creating /sys/module/NAME (and registering the PCI
// driver directory for vfio_pci), as insmod would on a real kernel.
class FakeModuleLoader : public ModuleLoader {
 public:
  explicit FakeModuleLoader(FakeKernelFs& fs) : fs_(fs) {}
  Status Load(const std::string& name, const std::string& options) override;
  // Modules that are "not installed" (NotFound).
  std::vector<std::string> missing;

 private:
  FakeKernelFs& fs_;
};

}  // namespace gpuhost::testing
