// The NVIDIA side of the report, shared by the page, the JSON API and the
// metrics: the GPUs the plan keeps on the host and what NVML says about them
// (serve's own reading: model, driver, memory, utilisation, temperature, MIG).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nvml/watcher.h"
#include "report/view.h"

namespace gpuhost::report {

struct NvidiaStatus {
  enum class Kind {
    kNoGpu,        // no NVIDIA GPU in the inventory
    kNoHostGpu,    // NVIDIA GPUs, all given to VMs: nothing for the driver
    kPending,      // host GPUs, no NVML reading yet
    kUnavailable,  // NVML could not be loaded or initialised (no driver)
    kRead,         // readings per host GPU
  };
  Kind kind = Kind::kNoGpu;
  std::string message;                      // one line: "no NVIDIA GPU found", the NVML error, ...
  int nvidia_gpus = 0;                      // NVIDIA GPUs in the inventory (host and vfio)
  std::vector<inventory::PciAddress> host;  // NVIDIA GPUs the plan keeps on the host
  const nvml::Reading* reading = nullptr;   // kUnavailable and kRead; owned by the View
};

// NVIDIA GPUs that the plan keeps on the host (assignment host), in
// inventory order: the ones NVML can see. Requires nothing but the state.
std::vector<inventory::PciAddress> HostNvidiaGpus(const State& s);

// Requires v.state.
NvidiaStatus EffectiveNvidia(const View& v);
const char* NvidiaKindName(NvidiaStatus::Kind k);  // "no-gpu", "read", ...

// The API's "nvidia" object (docs/status-api.md). Requires v.state.
nlohmann::json NvidiaJson(const View& v);

// HTML of the page's NVIDIA section (escaped). Requires v.state.
std::string RenderNvidiaSection(const View& v);

}  // namespace gpuhost::report
