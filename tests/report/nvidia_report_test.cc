// The NVIDIA side of the status page, API and metrics. The readings are the
// ones NVML gave on a real H200 (tests/data/captures/h200-firecracker/
// device-run/gpu-status-busy.json, `gpu-status --json` under a PyTorch load),
// handed to serve's NVML reader in place of libnvidia-ml, which this machine
// lacks; the "no NVML" case dlopen()s for real and fails for real.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fileio.h"
#include "nvml/watcher.h"
#include "report/http_client.h"
#include "report/metrics.h"
#include "report/nvidia_rows.h"
#include "report/page.h"
#include "report/serve.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kGpu = "0000:00:06.0";

// The capture's JSON (nvml::ToJson's form) back into a Report.
nvml::Report CapturedReport() {
  auto text = ReadFileAt(
      TestDataDir() + "/captures/h200-firecracker/device-run/gpu-status-busy.json", 1 << 20);
  EXPECT_TRUE(text.ok());
  json j = json::parse(*text);
  nvml::Report r;
  r.available = j["available"];
  r.error = j["error"];
  r.driver_version = j["driver_version"];
  for (const auto& g : j["gpus"]) {
    nvml::GpuReading x;
    x.address = g["address"];
    x.name = g["name"];
    x.uuid = g["uuid"];
    x.error = g["error"];
    x.memory_total_bytes = g["memory_total_bytes"].get<uint64_t>();
    x.memory_used_bytes = g["memory_used_bytes"].get<uint64_t>();
    x.utilization_gpu_percent = g["utilization_gpu_percent"].get<unsigned>();
    x.utilization_memory_percent = g["utilization_memory_percent"].get<unsigned>();
    x.temperature_c = g["temperature_c"].get<unsigned>();
    x.mig_enabled = g["mig_enabled"].get<bool>();
    r.gpus.push_back(std::move(x));
  }
  return r;
}

// The H200 capture with its GPU kept on the host (the policy of the machine
// it came from: no IOMMU in that VM).
result::State H200HostState() {
  result::State s = H200State();
  for (auto& d : s.plan.gpus) d.assignment = plan::Assignment::kHost;
  return s;
}

class NvidiaServeTest : public ::testing::Test {
 protected:
  void Start(const result::State& s,
             std::function<nvml::Report(const std::vector<inventory::PciAddress>&)> read) {
    WriteState(dir_.path(), s);
    report::ServeOptions opts;
    opts.listen = {"127.0.0.1:0"};
    opts.state_dir = dir_.path();
    opts.hostname = "h200";
    opts.libvirt = false;
    opts.nvml_read = [this, read](const std::vector<inventory::PciAddress>& g) {
      ++reads_;
      asked_ = g;
      return read(g);
    };
    server_ = std::make_unique<report::StatusServer>(opts);
    auto ports = server_->Start();
    ASSERT_TRUE(ports.ok()) << ports.status().ToString();
    port_ = (*ports)[0];
  }
  // The API once the NVML reading has landed (the first request starts it).
  json ApiOnceRead() {
    for (int i = 0; i < 100; ++i) {
      json j = json::parse(Get(port_, "/api/v1/status").body);
      if (j["nvidia"]["status"] != "pending") return j;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "no NVML reading within 5 s";
    return json();
  }
  TempDir dir_;
  std::unique_ptr<report::StatusServer> server_;
  int port_ = 0;
  std::atomic<int> reads_{0};
  std::vector<inventory::PciAddress> asked_;
};

TEST_F(NvidiaServeTest, HostGpuReadingsOnApiPageAndMetrics) {
  Start(H200HostState(), [](const auto&) { return CapturedReport(); });
  json api = ApiOnceRead();
  const json& nv = api["nvidia"];
  EXPECT_EQ(nv["status"], "read");
  EXPECT_EQ(nv["host_gpus"], json::array({kGpu}));
  EXPECT_EQ(nv["message"], "NVIDIA driver 580.159.04, 1 host GPU(s) read through NVML");
  const json& g = nv["nvml"]["gpus"][0];
  EXPECT_EQ(g["name"], "NVIDIA H200");
  EXPECT_EQ(g["memory_total_bytes"], 150754820096ull);
  EXPECT_EQ(g["memory_used_bytes"], 10525474816ull);
  EXPECT_EQ(g["utilization_gpu_percent"], 100);
  EXPECT_EQ(g["temperature_c"], 54);
  EXPECT_EQ(g["mig_enabled"], false);
  EXPECT_EQ(nv["nvml"]["driver_version"], "580.159.04");
  EXPECT_FALSE(nv["nvml"]["read_at"].get<std::string>().empty());
  ASSERT_EQ(asked_.size(), 1u);
  EXPECT_EQ(asked_[0].ToString(), kGpu) << "NVML is asked for the host GPU";

  std::string page = Get(port_, "/").body;
  EXPECT_NE(page.find("<section id=\"nvidia\">"), std::string::npos);
  EXPECT_NE(page.find("NVIDIA H200"), std::string::npos);
  EXPECT_NE(page.find("10037 MiB"), std::string::npos) << "used, as nvidia-smi showed";
  EXPECT_NE(page.find("143771 MiB"), std::string::npos) << "total, as nvidia-smi showed";
  EXPECT_NE(page.find("54 &deg;C"), std::string::npos);

  std::string m = Get(port_, "/metrics").body;
  const std::string labels = "{address=\"0000:00:06.0\",model=\"NVIDIA H200\"}";
  EXPECT_NE(m.find("gpuhost_nvml_available 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gpuhost_nvidia_driver_info{version=\"580.159.04\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_memory_total_bytes" + labels + " 150754820096\n"),
            std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_memory_used_bytes" + labels + " 10525474816\n"),
            std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_utilization_percent" + labels + " 100\n"),
            std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_memory_utilization_percent" + labels + " 7\n"),
            std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_temperature_celsius" + labels + " 54\n"), std::string::npos);
  EXPECT_NE(m.find("gpuhost_nvidia_gpu_mig_enabled" + labels + " 0\n"), std::string::npos);
}

TEST_F(NvidiaServeTest, WithoutLibnvidiaMlTheDriverIsReportedMissing) {
  // The real loader, pointed at a library that does not exist.
  Start(H200HostState(), [](const auto& g) { return nvml::Read(g, "libnvidia-ml-absent.so.1"); });
  json api = ApiOnceRead();
  EXPECT_EQ(api["nvidia"]["status"], "unavailable");
  EXPECT_NE(api["nvidia"]["message"].get<std::string>().find("NVML not available"),
            std::string::npos);
  EXPECT_EQ(api["health"]["status"], "degraded") << "NVML missing is not a failure of the run";
  std::string m = Get(port_, "/metrics").body;
  EXPECT_NE(m.find("gpuhost_nvml_available 0\n"), std::string::npos);
  EXPECT_EQ(m.find("gpuhost_nvidia_gpu_memory_total_bytes{"), std::string::npos);
  EXPECT_NE(Get(port_, "/").body.find("NVML not available"), std::string::npos);
}

TEST_F(NvidiaServeTest, VfioGpuIsNeverAskedAbout) {
  Start(H200State(), [](const auto&) { return CapturedReport(); });  // GPU to vfio
  json api = json::parse(Get(port_, "/api/v1/status").body);
  std::this_thread::sleep_for(200ms);
  api = json::parse(Get(port_, "/api/v1/status").body);
  EXPECT_EQ(api["nvidia"]["status"], "no-host-gpu");
  EXPECT_EQ(api["nvidia"]["nvidia_gpus"], 1);
  EXPECT_TRUE(api["nvidia"]["nvml"].is_null());
  EXPECT_EQ(reads_.load(), 0) << "a GPU on vfio-pci is invisible to NVML: nothing to read";
}

TEST(NvidiaViewTest, MachineWithoutNvidiaGpuSaysSo) {
  result::State s = H200State();
  s.inventory.gpus.clear();
  s.plan.gpus.clear();
  auto v = Loaded(s);
  EXPECT_EQ(report::NvidiaJson(v)["status"], "no-gpu");
  EXPECT_EQ(report::NvidiaJson(v)["message"], "no NVIDIA GPU found");
  EXPECT_NE(report::RenderPage(v).find("no NVIDIA GPU found"), std::string::npos);
  std::string m = report::RenderMetrics(v);
  EXPECT_NE(m.find("gpuhost_nvidia_gpus 0\n"), std::string::npos);
  EXPECT_EQ(m.find("gpuhost_nvml_available"), std::string::npos);
}

TEST(NvmlWatcherTest, ReadsInTheBackgroundPerGpuSet) {
  std::atomic<int> calls{0};
  nvml::Watcher::Options o;
  o.read = [&](const std::vector<inventory::PciAddress>& g) {
    ++calls;
    nvml::Report r;
    r.available = true;
    for (const auto& a : g) {
      nvml::GpuReading x;
      x.address = a.ToString();
      r.gpus.push_back(x);
    }
    return r;
  };
  nvml::Watcher w(o);
  EXPECT_EQ(w.Latest({}), nullptr) << "no GPU: nothing to read";
  auto a = *inventory::PciAddress::Parse(kGpu);
  auto b = *inventory::PciAddress::Parse("0000:65:00.0");
  auto r1 = w.WaitFresh({a}, 5s);
  ASSERT_NE(r1, nullptr);
  EXPECT_EQ(r1->report.gpus[0].address, kGpu);
  EXPECT_EQ(w.Latest({b}), nullptr) << "a reading for another set is not shown";
  auto r2 = w.WaitFresh({b}, 5s);
  ASSERT_NE(r2, nullptr);
  EXPECT_GT(r2->version, r1->version);
  EXPECT_EQ(r2->report.gpus[0].address, "0000:65:00.0");
  EXPECT_GE(calls.load(), 2);
}

}  // namespace
}  // namespace gpuhost::testing
