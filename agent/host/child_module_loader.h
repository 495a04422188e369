// Module loads with a deadline. A load can hang in two places: in the
// kernel (init_module while a driver's probe waits on a device) and in a
// modprobe.d `install` command (Debian's nvidia line runs a shell that runs
// modprobe). A thread can be abandoned but not stopped, and the install
// command's processes would outlive it; so each load runs in a child
// process leading its own process group, and at the deadline the whole
// group is killed (host/process_group.h). A child stuck in the kernel, where
// no signal reaches it, is left behind: the run goes on and says so.
#pragma once

#include <chrono>

#include "host/modules.h"

namespace gpuhost {

class ChildModuleLoader : public ModuleLoader {
 public:
  // `inner` does the loading, in the child (so its in-memory state does not
  // change in this process). timeout_ms: per load.
  ChildModuleLoader(ModuleLoader& inner, int timeout_ms, int grace_ms = 2000)
      : inner_(inner), timeout_ms_(timeout_ms), grace_ms_(grace_ms) {}

  // inner's answer; Timeout naming the module and the deadline when the
  // load did not finish in time.
  Status Load(const std::string& name, const std::string& options) override;
  // A deadline for every load (the whole run's): each gets the earlier of
  // timeout_ms and this.
  void set_run_deadline(std::chrono::steady_clock::time_point t) { run_deadline_ = t; }

 private:
  ModuleLoader& inner_;
  int timeout_ms_;
  int grace_ms_;
  std::chrono::steady_clock::time_point run_deadline_ =
      std::chrono::steady_clock::time_point::max();
};

}  // namespace gpuhost
