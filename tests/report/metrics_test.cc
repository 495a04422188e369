#include "report/metrics.h"

#include <gtest/gtest.h>

#include "base/fileio.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// promtool from Debian's prometheus package (in the Makefile's BUILD_DEPS):
// the reference for what Prometheus accepts and its naming lint.
void ExpectPromtoolClean(const std::string& metrics) {
  TempDir dir;
  std::string file = dir.path() + "/metrics.txt";
  ASSERT_TRUE(WriteFileAtomic(file, metrics).ok());
  int status = -1;
  std::string out = RunCommand("promtool check metrics < " + file + " 2>&1", &status);
  EXPECT_EQ(status, 0) << "promtool (apt-get install prometheus) says:\n" << out << "\n" << metrics;
  EXPECT_EQ(out, "") << metrics;
}

TEST(MetricsTest, CountsGpusByAssignmentAndRunResult) {
  std::string m = report::RenderMetrics(Loaded(H200State()));
  EXPECT_TRUE(HasLine(m, "gpuhost_build_info{version=\"0.1.0\",openssl=\"3.0.19\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_state_loaded 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_healthy 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_gpus{assignment=\"vfio\"} 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_gpus{assignment=\"host\"} 0"));
  EXPECT_TRUE(HasLine(m, "gpuhost_apply_result{result=\"degraded\"} 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_apply_result{result=\"ok\"} 0"));
  EXPECT_TRUE(HasLine(m, "gpuhost_apply_duration_seconds{stage=\"total\"} 0.853350"));
  EXPECT_TRUE(HasLine(m, "gpuhost_apply_finished_timestamp_seconds 1795600801.250000")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_actions{outcome=\"done\"} 4"));
  EXPECT_TRUE(HasLine(m, "gpuhost_checks_failed 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_kernel_params_missing 2"));
  EXPECT_TRUE(HasLine(m, "gpuhost_reboot_requested 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_warnings 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_errors 0"));
  // The model comes from pci.ids, which names 10de:2335 in newer releases.
  size_t info = m.find("\ngpuhost_gpu_info{address=\"0000:00:06.0\",model=\"NVIDIA Corporation ");
  ASSERT_NE(info, std::string::npos) << m;
  std::string line = m.substr(info + 1, m.find('\n', info + 1) - info - 1);
  EXPECT_TRUE(line.ends_with("\",assignment=\"vfio\",driver=\"nvidia\"} 1")) << line;
}

TEST(MetricsTest, WithoutStateOnlyTheBasics) {
  report::View v;
  v.build = {"0.1.0", "3.0.19"};
  std::string m = report::RenderMetrics(v);
  EXPECT_TRUE(HasLine(m, "gpuhost_state_loaded 0"));
  EXPECT_TRUE(HasLine(m, "gpuhost_healthy 0"));
  EXPECT_EQ(m.find("gpuhost_gpus"), std::string::npos);
  ExpectPromtoolClean(m);
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(report::EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  auto s = H200State();
  s.inventory.gpus[0].model = "H200 \"SXM\"\n\\";
  s.timings_us["odd \"stage\""] = 5;
  std::string m = report::RenderMetrics(Loaded(s));
  EXPECT_NE(m.find("model=\"NVIDIA Corporation H200 \\\"SXM\\\"\\n\\\\\""), std::string::npos) << m;
  ExpectPromtoolClean(m);
}

TEST(MetricsTest, PromtoolAcceptsEveryFixture) {
  ExpectPromtoolClean(report::RenderMetrics(Loaded(H200State())));
  TempDir dir;
  ExpectPromtoolClean(report::RenderMetrics(Loaded(GpuServerState(dir.path()))));
}

// The ids the agent recorded, with serve's host name: one series to join
// other inventories on. The fixture's serial carries quotes (label escaping).
TEST(MetricsTest, NodeInfoNamesTheMachine) {
  TempDir dir;
  std::string m = report::RenderMetrics(Loaded(GpuServerState(dir.path())));
  EXPECT_TRUE(HasLine(m,
                      "gpuhost_node_info{hostname=\"h200\","
                      "machine_id=\"4f2a6d1c9e8b47a3b5c2d1e0f9a8b7c6\","
                      "product_uuid=\"4c4c4544-0051-3510-8052-b4c04f4d3732\","
                      "product_serial=\"SN \\\"17\\\"\"} 1"))
      << m;
  ExpectPromtoolClean(m);
  // A micro-VM without SMBIOS or a machine id (the H200 capture): empty
  // values, which Prometheus treats as absent labels.
  m = report::RenderMetrics(Loaded(H200State()));
  EXPECT_TRUE(HasLine(m,
                      "gpuhost_node_info{hostname=\"h200\",machine_id=\"\",product_uuid=\"\","
                      "product_serial=\"\"} 1"))
      << m;
  // Without a state only the host name is known; the series is still there.
  report::View v;
  v.hostname = "gpu-17";
  m = report::RenderMetrics(v);
  EXPECT_NE(m.find("gpuhost_node_info{hostname=\"gpu-17\",machine_id=\"\""), std::string::npos)
      << m;
}

// The page's JSON carries the same ids, under machine.identity.
TEST(MetricsTest, NodeIdsAreInTheApiToo) {
  TempDir dir;
  auto j = report::StatusJson(Loaded(GpuServerState(dir.path())));
  EXPECT_EQ(j["machine"]["identity"]["machine_id"], "4f2a6d1c9e8b47a3b5c2d1e0f9a8b7c6");
  EXPECT_EQ(j["machine"]["identity"]["product_uuid"], "4c4c4544-0051-3510-8052-b4c04f4d3732");
  EXPECT_EQ(j["machine"]["identity"]["product_serial"], "SN \"17\"");
}

TEST(MetricsTest, HealthStatusIsOneOfSeven) {
  std::string m = report::RenderMetrics(Loaded(H200State()));
  EXPECT_TRUE(HasLine(m, "gpuhost_health_status{status=\"degraded\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_health_status{status=\"failed\"} 0"));
  auto s = H200State();
  s.errors = {{"apply", "bind-vfio 0000:00:06.0 failed"}};
  m = report::RenderMetrics(Loaded(s));
  EXPECT_TRUE(HasLine(m, "gpuhost_health_status{status=\"failed\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_health_status{status=\"degraded\"} 0"));
  report::View none;
  m = report::RenderMetrics(none);
  EXPECT_TRUE(HasLine(m, "gpuhost_health_status{status=\"no-state\"} 1")) << m;
  int ones = 0;
  for (size_t at = m.find("gpuhost_health_status{"); at != std::string::npos;
       at = m.find("gpuhost_health_status{", at + 1)) {
    ones += m.compare(m.find('}', at), 4, "} 1\n") == 0;
  }
  EXPECT_EQ(ones, 1) << m;
}

// Which parameter is missing, not only how many: an alert names it.
TEST(MetricsTest, EachWantedKernelParamSaysWhetherItIsInEffect) {
  auto s = H200State();
  s.inventory.system.cmdline = "BOOT_IMAGE=/vmlinuz intel_iommu=on";
  s.kernel_params_missing = {"iommu=pt"};
  std::string m = report::RenderMetrics(Loaded(s));
  EXPECT_TRUE(HasLine(m, "gpuhost_kernel_param_in_effect{param=\"intel_iommu=on\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_kernel_param_in_effect{param=\"iommu=pt\"} 0")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_kernel_params_missing 1"));
  ExpectPromtoolClean(m);
  // A secret the policy wants on the line stays hidden here too (inventory/redact.h).
  s.plan.kernel_params.push_back("rd.luks.key=/etc/luks/root.key");
  s.kernel_params_missing.push_back("rd.luks.key=/etc/luks/root.key");
  m = report::RenderMetrics(Loaded(s));
  EXPECT_TRUE(HasLine(m, "gpuhost_kernel_param_in_effect{param=\"rd.luks.key=<redacted>\"} 0"))
      << m;
  EXPECT_EQ(m.find("root.key"), std::string::npos) << m;
}

TEST(MetricsTest, ParsesRfc3339) {
  EXPECT_EQ(report::ParseRfc3339Utc("1970-01-01T00:00:10Z"), 10.0);
  EXPECT_DOUBLE_EQ(report::ParseRfc3339Utc("1970-01-01T00:00:10.5Z"), 10.5);
  EXPECT_EQ(report::ParseRfc3339Utc("yesterday"), -1);
  EXPECT_EQ(report::ParseRfc3339Utc("1970-01-01T00:00:10+02:00"), -1);
}

}  // namespace
}  // namespace gpuhost::testing

namespace gpuhost::testing {
namespace {

TEST(MetricsResetTest, GpusWithoutAResetAreMarked) {
  result::State s = H200State();
  ASSERT_FALSE(s.plan.gpus.empty());
  s.plan.gpus[0].one_start_per_boot = true;
  std::string m = report::RenderMetrics(Loaded(s));
  EXPECT_NE(m.find("gpuhost_gpu_one_start_per_boot{address=\"0000:00:06.0\"} 1"), std::string::npos)
      << m;
  s.plan.gpus[0].one_start_per_boot = false;
  m = report::RenderMetrics(Loaded(s));
  EXPECT_NE(m.find("gpuhost_gpu_one_start_per_boot{address=\"0000:00:06.0\"} 0"),
            std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
