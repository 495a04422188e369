// NVML as `serve` sees it: readings of the host's NVIDIA GPUs taken on a
// thread of its own (nvmlInit can take seconds on a GPU without persistence
// mode), so a request never waits for the driver. Requests get the newest
// reading at once; one older than max_age starts a new one in the background.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/background_reading.h"
#include "inventory/model.h"
#include "nvml/nvml.h"

namespace gpuhost::nvml {

struct Reading {
  std::vector<inventory::PciAddress> asked;  // the GPUs this reading is for
  Report report;
  std::string at;        // RFC 3339 UTC: when it was taken
  uint64_t version = 0;  // goes up with every reading
};

class Watcher {
 public:
  struct Options {
    // How old a reading may be before a request starts a fresh one.
    std::chrono::milliseconds max_age{5000};
    // Takes one reading; empty: nvml::Read (libnvidia-ml.so.1, dlopen()ed).
    // Tests hand in a reader fed with readings captured on real GPUs.
    std::function<Report(const std::vector<inventory::PciAddress>&)> read;
  };

  explicit Watcher(Options options);

  // The newest reading for `gpus` (null before the first one for this set
  // lands, and always null for an empty set: nothing to ask NVML). Starts a
  // new reading when it is missing, for another set, or older than max_age,
  // and none is under way. Never blocks on NVML; a reading stuck in the
  // driver is left behind when the Watcher goes (base/background_reading.h).
  std::shared_ptr<const Reading> Latest(const std::vector<inventory::PciAddress>& gpus);

  // For tests: waits up to `timeout` for a reading of `gpus` taken after this
  // call; null on timeout.
  std::shared_ptr<const Reading> WaitFresh(const std::vector<inventory::PciAddress>& gpus,
                                           std::chrono::milliseconds timeout);

 private:
  std::chrono::milliseconds max_age_;
  BackgroundReading<std::vector<inventory::PciAddress>, Reading> reading_;
};

}  // namespace gpuhost::nvml
