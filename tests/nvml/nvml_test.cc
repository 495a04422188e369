// NVML is loaded at run time: without the NVIDIA driver the agent says so
// and goes on. (Readings from a real H200 are in
// tests/data/captures/h200-firecracker/device-run/gpu-status-*.json.)
#include "nvml/nvml.h"

#include <gtest/gtest.h>

namespace gpuhost::nvml {
namespace {

TEST(NvmlTest, MissingLibraryIsReportedNotFatal) {
  auto addr = *inventory::PciAddress::Parse("0000:00:06.0");
  Report r = Read({addr}, "libnvidia-ml-gpuhost-absent.so.1");
  EXPECT_FALSE(r.available);
  EXPECT_NE(r.error.find("NVML not available"), std::string::npos) << r.error;
  EXPECT_TRUE(r.gpus.empty());
  auto j = ToJson(r);
  EXPECT_FALSE(j["available"].get<bool>());
}

TEST(NvmlTest, LibraryWithoutNvmlIsRefused) {
  // A real shared library that is not NVML: the entry points are missing.
  Report r = Read({}, "libz.so.1");
  EXPECT_FALSE(r.available);
  EXPECT_NE(r.error.find("lacks an NVML entry point"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace gpuhost::nvml
