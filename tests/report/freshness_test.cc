// A result is healthy only for this boot and a finished run: serve's
// answers for results from another boot, with no boot, and for a run that
// started in this boot and never wrote its result (report/freshness.h).
#include "report/freshness.h"

#include <gtest/gtest.h>

#include "report/metrics.h"
#include "report/page.h"
#include "report/snapshot.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using report::Evaluate;
using report::View;
using result::RunMarker;

constexpr const char* kThisBoot = "0b7e1e57-0000-4000-8000-00000000000b";
constexpr const char* kOtherBoot = "a1d3b007-0000-4000-8000-00000000000a";

result::State OkState(const std::string& boot, const std::string& run) {
  auto s = H200State();
  s.result = "ok";
  s.warnings.clear();
  s.inventory.warnings.clear();
  s.boot_id = boot;
  s.run_id = run;
  return s;
}

View InBoot(result::State s, const std::string& boot) {
  View v = Loaded(std::move(s));
  v.boot_id = boot;
  return v;
}

RunMarker Marker(const std::string& run) { return {kThisBoot, run, 1234, "2026-11-26T04:59:59Z"}; }

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(FreshnessTest, FinishedResultOfThisBootIs200) {
  View v = InBoot(OkState(kThisBoot, "run-1"), kThisBoot);
  v.run_marker = Marker("run-1");
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 200);
  EXPECT_EQ(h.status, "ok");
  auto api = report::StatusJson(v);
  EXPECT_EQ(api["freshness"]["current"], true);
  EXPECT_EQ(api["freshness"]["boot_id"], kThisBoot);
  EXPECT_TRUE(HasLine(report::RenderMetrics(v), "gpuhost_result_current 1"));
}

TEST(FreshnessTest, ResultFromAnotherBootIs503AndSaysWhichBoots) {
  View v = InBoot(OkState(kOtherBoot, "run-0"), kThisBoot);
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "stale");
  EXPECT_EQ(h.reason,
            std::string("result from boot ") + kOtherBoot + ", this is boot " + kThisBoot);
  EXPECT_EQ(report::Render(v).healthz, "stale: " + h.reason + "\n");
  auto api = report::StatusJson(v);
  EXPECT_EQ(api["health"]["healthy"], false);
  EXPECT_EQ(api["health"]["status"], "stale");
  EXPECT_EQ(api["freshness"]["current"], false);
  EXPECT_EQ(api["freshness"]["status"], "other-boot");
  EXPECT_EQ(api["freshness"]["result_boot_id"], kOtherBoot);
  std::string page = report::RenderPage(v);
  EXPECT_NE(page.find("result from boot " + std::string(kOtherBoot)), std::string::npos);
  EXPECT_NE(page.find("not current"), std::string::npos);
  std::string m = report::RenderMetrics(v);
  EXPECT_TRUE(HasLine(m, "gpuhost_healthy 0"));
  EXPECT_TRUE(HasLine(m, "gpuhost_result_current 0"));
  EXPECT_TRUE(HasLine(m, std::string("gpuhost_result_freshness_info{freshness=\"other-boot\",") +
                             "boot_id=\"" + kThisBoot + "\",result_boot_id=\"" + kOtherBoot +
                             "\"} 1"))
      << m;
}

TEST(FreshnessTest, ResultWithoutBootIdIs503) {
  View v = InBoot(OkState("", ""), kThisBoot);  // an older agent's file
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "stale");
  EXPECT_NE(h.reason.find("names no boot"), std::string::npos) << h.reason;
}

TEST(FreshnessTest, MarkerNewerThanTheResultIs503) {
  // The result is this boot's, but a later run started and never finished.
  View v = InBoot(OkState(kThisBoot, "run-1"), kThisBoot);
  v.run_marker = Marker("run-2");
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "unfinished");
  EXPECT_EQ(h.reason.rfind("run started at 2026-11-26T04:59:59Z (pid 1234) never finished", 0), 0u)
      << h.reason;
  auto api = report::StatusJson(v);
  EXPECT_EQ(api["freshness"]["status"], "unfinished");
  EXPECT_EQ(api["freshness"]["last_run_started"]["run_id"], "run-2");
  EXPECT_TRUE(HasLine(report::RenderMetrics(v), "gpuhost_result_current 0"));
}

TEST(FreshnessTest, MarkerWithoutAnyResultIs503Unfinished) {
  View v;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.boot_id = kThisBoot;
  v.run_marker = Marker("run-1");
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "unfinished");
}

TEST(FreshnessTest, UnreadableProcFallsBackToTheMarkersBoot) {
  // serve's sandbox hides /proc/sys: the marker on /run names this boot.
  View v = InBoot(OkState(kThisBoot, "run-1"), "");
  v.run_marker = Marker("run-1");
  EXPECT_EQ(Evaluate(v).http_status, 200);
  // With no marker either, no run started in this boot: the result is older.
  v.run_marker.reset();
  EXPECT_EQ(Evaluate(v).status, "stale");
}

TEST(FreshnessTest, UnreadableMarkerIs503) {
  View v = InBoot(OkState(kThisBoot, "run-1"), kThisBoot);
  v.run_marker_error = "/run/gpuhost/run-started: not valid JSON";
  EXPECT_EQ(Evaluate(v).http_status, 503);
}

// The cache reads the boot id and the marker under its root, and sees a
// marker written after the result.
TEST(FreshnessTest, SnapshotCacheReadsBootIdAndMarkerUnderItsRoot) {
  TempDir root;
  SysfsBuilder b(root.path());
  b.Write(result::kBootIdPath, std::string(kThisBoot) + "\n");
  std::string dir = root.path() + "/var/lib/gpuhost";
  WriteState(dir, OkState(kThisBoot, "run-1"));
  report::SnapshotCache cache(dir + "/state.json", "h200", {"0.1.0", "3.0.19"}, nullptr, nullptr,
                              root.path());
  EXPECT_EQ(cache.Current()->health.http_status, 200);
  RootFs fs(root.path());
  ASSERT_TRUE(result::WriteRunMarker(fs, Marker("run-2")).ok());
  EXPECT_EQ(cache.Current()->health.status, "unfinished");
  ASSERT_TRUE(result::WriteRunMarker(fs, Marker("run-1")).ok());
  EXPECT_EQ(cache.Current()->health.http_status, 200);
  WriteState(dir, OkState(kOtherBoot, "run-1"));
  EXPECT_EQ(cache.Current()->health.status, "stale");
}

}  // namespace
}  // namespace gpuhost::testing
