// libvirt as `serve` sees it: a reading of what libvirt says now (VMs, their
// host devices, domain capabilities), taken on a thread of its own so that a
// slow or hung libvirtd never holds up a request. Requests get the newest
// reading at once; one older than max_age starts a new one in the background.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/background_reading.h"
#include "inventory/model.h"

namespace gpuhost::virt {

struct Reading {
  // libvirt_* fields, hostdev_vfio, virt_type and domains; kvm_* are not
  // judged here (serve cannot see /dev/kvm; the state file has them).
  inventory::Virtualization virt;
  std::string since;     // RFC 3339 UTC: the first reading that said this
  uint64_t version = 0;  // goes up each time what libvirt says changes
};

class Watcher {
 public:
  struct Options {
    std::string uri = "qemu:///system";
    // How old a reading may be before a request starts a fresh one.
    std::chrono::milliseconds max_age{5000};
    // Asked before every reading, on the reading thread: libvirt is only
    // connected to while its daemon runs (see DaemonRunning()).
    std::function<bool()> daemon_running;
  };

  explicit Watcher(Options options);

  // The newest reading (null before the first one lands). Starts a new
  // reading when this one is missing or older than max_age and none is
  // under way. Never blocks on libvirt; a reading stuck in libvirt is left
  // behind when the Watcher goes (base/background_reading.h).
  std::shared_ptr<const Reading> Latest();

  // For tests: waits up to `timeout` for a reading taken after this call
  // (starting one if needed); null on timeout.
  std::shared_ptr<const Reading> WaitFresh(std::chrono::milliseconds timeout);

 private:
  std::chrono::milliseconds max_age_;
  BackgroundReading<int, Reading> reading_;  // one kind of request: 0
};

}  // namespace gpuhost::virt
