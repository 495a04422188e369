// NVIDIA GPU readings through NVML (libnvidia-ml.so.1), loaded at run time
// so the agent runs, and says so, where the NVIDIA driver is not installed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "inventory/model.h"

namespace gpuhost::nvml {

struct GpuReading {
  std::string address;  // as asked
  std::string name;     // "NVIDIA H200"
  std::string uuid;
  std::optional<uint64_t> memory_total_bytes;
  std::optional<uint64_t> memory_used_bytes;
  std::optional<unsigned> utilization_gpu_percent;
  std::optional<unsigned> utilization_memory_percent;
  std::optional<unsigned> temperature_c;
  std::optional<bool> mig_enabled;  // empty when the GPU has no MIG
  std::string error;  // why this GPU could not be read
};

struct Report {
  bool available = false;  // libnvidia-ml loaded and initialised
  std::string error;       // why not
  std::string driver_version;
  std::vector<GpuReading> gpus;
};

// Reads the given GPUs (NVIDIA host GPUs; vfio GPUs are invisible to the
// driver anyway). `library` overrides the library name, for tests.
Report Read(const std::vector<inventory::PciAddress>& gpus,
            const std::string& library = "libnvidia-ml.so.1");

nlohmann::json ToJson(const Report& r);

}  // namespace gpuhost::nvml
