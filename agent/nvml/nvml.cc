#include "nvml/nvml.h"

#include <dlfcn.h>

namespace gpuhost::nvml {
namespace {

// The few NVML entry points used, declared as the NVML API documents them
// (nvml.h is not packaged in Debian main). All return nvmlReturn_t, 0 on
// success; nvmlDevice_t is an opaque handle.
using Ret = int;
using Device = void*;
struct Memory {
  unsigned long long total, free, used;
};
struct Utilization {
  unsigned int gpu, memory;
};
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU
constexpr Ret kNotSupported = 3;    // NVML_ERROR_NOT_SUPPORTED

struct Api {
  Ret (*init)() = nullptr;  // nvmlInit_v2
  Ret (*shutdown)() = nullptr;
  const char* (*error_string)(Ret) = nullptr;
  Ret (*driver_version)(char*, unsigned) = nullptr;
  Ret (*by_bus_id)(const char*, Device*) = nullptr;  // nvmlDeviceGetHandleByPciBusId_v2
  Ret (*name)(Device, char*, unsigned) = nullptr;
  Ret (*uuid)(Device, char*, unsigned) = nullptr;
  Ret (*memory)(Device, Memory*) = nullptr;
  Ret (*utilization)(Device, Utilization*) = nullptr;
  Ret (*temperature)(Device, int, unsigned*) = nullptr;
  Ret (*mig_mode)(Device, unsigned*, unsigned*) = nullptr;
};

template <typename F>
bool Bind(void* lib, const char* symbol, F* out) {
  *out = reinterpret_cast<F>(dlsym(lib, symbol));
  return *out != nullptr;
}

}  // namespace

Report Read(const std::vector<inventory::PciAddress>& gpus, const std::string& library) {
  Report rep;
  void* lib = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* e = dlerror();
    rep.error = "NVML not available (" + std::string(e ? e : library) +
                "): the NVIDIA driver is not installed";
    return rep;
  }
  Api api;
  bool ok = Bind(lib, "nvmlInit_v2", &api.init) && Bind(lib, "nvmlShutdown", &api.shutdown) &&
            Bind(lib, "nvmlErrorString", &api.error_string) &&
            Bind(lib, "nvmlSystemGetDriverVersion", &api.driver_version) &&
            Bind(lib, "nvmlDeviceGetHandleByPciBusId_v2", &api.by_bus_id) &&
            Bind(lib, "nvmlDeviceGetName", &api.name) &&
            Bind(lib, "nvmlDeviceGetUUID", &api.uuid) &&
            Bind(lib, "nvmlDeviceGetMemoryInfo", &api.memory) &&
            Bind(lib, "nvmlDeviceGetUtilizationRates", &api.utilization) &&
            Bind(lib, "nvmlDeviceGetTemperature", &api.temperature);
  Bind(lib, "nvmlDeviceGetMigMode", &api.mig_mode);  // absent before R450
  if (!ok) {
    rep.error = library + " lacks an NVML entry point this agent needs";
    dlclose(lib);
    return rep;
  }
  if (Ret r = api.init(); r != 0) {
    rep.error = std::string("nvmlInit: ") + api.error_string(r);
    dlclose(lib);
    return rep;
  }
  rep.available = true;
  char buf[96] = {};
  if (api.driver_version(buf, sizeof buf) == 0) rep.driver_version = buf;
  for (const auto& a : gpus) {
    GpuReading g;
    g.address = a.ToString();
    Device dev = nullptr;
    if (Ret r = api.by_bus_id(g.address.c_str(), &dev); r != 0) {
      g.error = std::string("not visible to the NVIDIA driver: ") + api.error_string(r);
      rep.gpus.push_back(std::move(g));
      continue;
    }
    if (api.name(dev, buf, sizeof buf) == 0) g.name = buf;
    if (api.uuid(dev, buf, sizeof buf) == 0) g.uuid = buf;
    Memory m{};
    if (api.memory(dev, &m) == 0) {
      g.memory_total_bytes = m.total;
      g.memory_used_bytes = m.used;
    }
    Utilization u{};
    if (api.utilization(dev, &u) == 0) {
      g.utilization_gpu_percent = u.gpu;
      g.utilization_memory_percent = u.memory;
    }
    unsigned t = 0;
    if (api.temperature(dev, kTemperatureGpu, &t) == 0) g.temperature_c = t;
    unsigned cur = 0, pending = 0;
    if (api.mig_mode != nullptr) {
      Ret r = api.mig_mode(dev, &cur, &pending);
      if (r == 0)
        g.mig_enabled = cur == 1;
      else if (r != kNotSupported)
        g.error = std::string("MIG mode: ") + api.error_string(r);
    }
    rep.gpus.push_back(std::move(g));
  }
  api.shutdown();
  dlclose(lib);
  return rep;
}

nlohmann::json ToJson(const Report& r) {
  auto opt = [](const auto& v) { return v ? nlohmann::json(*v) : nlohmann::json(); };
  nlohmann::json gpus = nlohmann::json::array();
  for (const auto& g : r.gpus) {
    gpus.push_back({{"address", g.address},
                    {"name", g.name},
                    {"uuid", g.uuid},
                    {"memory_total_bytes", opt(g.memory_total_bytes)},
                    {"memory_used_bytes", opt(g.memory_used_bytes)},
                    {"utilization_gpu_percent", opt(g.utilization_gpu_percent)},
                    {"utilization_memory_percent", opt(g.utilization_memory_percent)},
                    {"temperature_c", opt(g.temperature_c)},
                    {"mig_enabled", opt(g.mig_enabled)},
                    {"error", g.error}});
  }
  return {{"available", r.available},
          {"error", r.error},
          {"driver_version", r.driver_version},
          {"gpus", gpus}};
}

}  // namespace gpuhost::nvml
