// The image's version and boot state as serve shows it: a node that fell
// back says from which version, after how many tries and why, on the page,
// in /api/v1/status and in /metrics (docs/updates.md, docs/status-api.md).
#include <gtest/gtest.h>

#include "base/fileio.h"
#include "boot/boot_state.h"
#include "report/metrics.h"
#include "report/page.h"
#include "report/snapshot.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// Version 2 runs; 3 was tried once and refused.
boot::BootState RolledBack() {
  boot::BootFacts f;
  f.image_id = "gpuhost-kvm-host";
  f.running_version = "2";
  f.esp = "/efi";
  for (const char* file : {"gpuhost-kvm-host_2.efi", "gpuhost-kvm-host_3+0-1.efi"}) {
    f.ukis.push_back(*boot::ParseUkiName(file, f.image_id));
  }
  f.verdicts.push_back({"3", "gpuhost-kvm-host_3+1-0.efi", "b3", "2026-12-01T06:00:00Z", false,
                        "failed: policy: policy.json: not valid JSON"});
  return boot::Judge(f);
}

report::View RolledBackView() {
  auto s = H200State();
  s.boot = RolledBack();
  report::View v = Loaded(std::move(s));
  // This boot (the fixture's) was not a counted one: no verdict of its own.
  v.verdicts.push_back({"3", "", "b3", "2026-12-01T06:00:00Z", false, "failed: ..."});
  return v;
}

TEST(BootReportTest, PageSaysItRolledBackFromWhichVersionAndWhy) {
  std::string page = report::RenderPage(RolledBackView());
  EXPECT_NE(page.find("<section id=\"boot\">"), std::string::npos);
  EXPECT_NE(page.find("rolled-back"), std::string::npos);
  EXPECT_NE(page.find("<dt>Rolled back from</dt><dd><span class=\"mono\">3</span> after 1 try"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("failed: policy: policy.json: not valid JSON"), std::string::npos);
  EXPECT_NE(page.find("gpuhost-kvm-host_3+0-1.efi"), std::string::npos);
  EXPECT_NE(page.find("2 <small>(running)</small>"), std::string::npos);
}

TEST(BootReportTest, ApiCarriesTheBootState) {
  auto j = report::StatusJson(RolledBackView());
  ASSERT_TRUE(j["boot"].is_object()) << j.dump(2);
  EXPECT_EQ(j["boot"]["status"], "rolled-back");
  EXPECT_EQ(j["boot"]["running_version"], "2");
  EXPECT_EQ(j["boot"]["rollback"]["from_version"], "3");
  EXPECT_EQ(j["boot"]["rollback"]["tries"], 1);
  EXPECT_EQ(j["boot"]["installed"][0]["state"], "bad");
  EXPECT_EQ(j["boot"]["installed"][1]["tries_left"], nullptr);
  EXPECT_TRUE(j["boot"]["verdict"].is_null());
  // The healthy fallback is healthy: the rollback is news, not a failure.
  EXPECT_EQ(j["health"]["healthy"], true);
}

TEST(BootReportTest, MetricsSayRolledBackAndPassPromtool) {
  std::string m = report::RenderMetrics(RolledBackView());
  EXPECT_TRUE(HasLine(m, "gpuhost_image_info{image_id=\"gpuhost-kvm-host\",version=\"2\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_boot_rolled_back 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_boot_status{status=\"rolled-back\"} 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_boot_status{status=\"blessed\"} 0"));
  EXPECT_TRUE(
      HasLine(m, "gpuhost_boot_rollback_info{from_version=\"3\",to_version=\"2\",tries=\"1\"} 1"));
  EXPECT_TRUE(HasLine(m, "gpuhost_image_installed{version=\"3\",state=\"bad\"} 1"));
  EXPECT_EQ(m.find("gpuhost_boot_blessed"), std::string::npos) << "no verdict for this boot";
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/metrics.txt", m).ok());
  int status = -1;
  std::string out =
      RunCommand("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "") << m;
}

// A counted boot the blessing judged: its verdict is this boot's (by the
// result's boot id), shown as blessed; before that, "not judged yet".
TEST(BootReportTest, ThisBootsVerdict) {
  boot::BootFacts f;
  f.image_id = "gpuhost-kvm-host";
  f.running_version = "3";
  f.esp = "/efi";
  f.ukis.push_back(*boot::ParseUkiName("gpuhost-kvm-host_3+2-1.efi", f.image_id));
  f.boot_count_path = "\\EFI\\Linux\\gpuhost-kvm-host_3+2-1.efi";
  auto s = H200State();
  s.boot = boot::Judge(f);
  report::View v = Loaded(s);
  EXPECT_NE(report::RenderPage(v).find("not judged yet"), std::string::npos);
  v.verdicts.push_back(
      {"3", "gpuhost-kvm-host_3+2-1.efi", s.boot_id, "2026-12-01T06:05:00Z", true, "ok"});
  EXPECT_NE(report::RenderPage(v).find("blessed</span> at 2026-12-01T06:05:00Z"),
            std::string::npos);
  EXPECT_EQ(report::StatusJson(v)["boot"]["verdict"]["blessed"], true);
  EXPECT_TRUE(HasLine(report::RenderMetrics(v), "gpuhost_boot_blessed 1"));
  // The run recorded "on-trial" before the blessing; once blessed, the boot
  // state shown is the blessed one, with the counter gone from the UKI as
  // systemd-bless-boot renames it.
  EXPECT_EQ(s.boot->status, "on-trial");
  auto j = report::StatusJson(v);
  EXPECT_EQ(j["boot"]["status"], "blessed") << j["boot"].dump(2);
  EXPECT_EQ(j["boot"]["installed"][0]["state"], "good");
  EXPECT_EQ(j["boot"]["installed"][0]["file"], "gpuhost-kvm-host_3.efi");
  EXPECT_TRUE(j["boot"]["installed"][0]["tries_left"].is_null());
  std::string m = report::RenderMetrics(v);
  EXPECT_TRUE(HasLine(m, "gpuhost_boot_status{status=\"blessed\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_boot_status{status=\"on-trial\"} 0"));
  // A refused boot stays on trial (the node reboots into its next try).
  v.verdicts.back().blessed = false;
  EXPECT_EQ(report::StatusJson(v)["boot"]["status"], "on-trial");
}

TEST(BootReportTest, OlderResultsHaveNoBootState) {
  report::View v = Loaded(H200State());
  EXPECT_TRUE(report::StatusJson(v)["boot"].is_null());
  EXPECT_EQ(report::RenderPage(v).find("<section id=\"boot\">"), std::string::npos);
  EXPECT_EQ(report::RenderMetrics(v).find("gpuhost_image_info"), std::string::npos);
}

// serve picks up a verdict written after the result (the blessing runs after
// the agent) without the state file changing.
TEST(BootReportTest, SnapshotReloadsWhenTheVerdictFileChanges) {
  TempDir dir;
  auto s = H200State();
  s.boot = RolledBack();
  WriteState(dir.path(), s);
  report::SnapshotCache cache(dir.path() + "/state.json", "h200", {"0.1.0", "3.0.19"});
  auto first = cache.Current();
  EXPECT_EQ(first->api.find("\"verdict\": {"), std::string::npos);
  RootFs fs(dir.path());
  ASSERT_TRUE(boot::AppendVerdict(fs, "", {"2", "", s.boot_id, "t", true, "ok"}).ok());
  auto second = cache.Current();
  EXPECT_EQ(cache.loads(), 2);
  EXPECT_NE(second->api.find("\"verdict\": {"), std::string::npos) << second->api;
}

// The last `gpuhost-agent update`: on the page, in the API and in /metrics,
// and picked up by serve when update.json changes.
TEST(BootReportTest, LastUpdateAttempt) {
  report::View v = RolledBackView();
  v.last_update = boot::UpdateAttempt{"2026-12-01T06:00:00Z",
                                      "2026-12-01T06:00:41Z",
                                      41.25,
                                      "2",
                                      "3",
                                      "updated",
                                      "version 3 is installed and boots next",
                                      true};
  std::string page = report::RenderPage(v);
  EXPECT_NE(page.find("<dt>Last update</dt><dd><span class=\"tag warn\">updated</span> at "
                      "2026-12-01T06:00:41Z in 41.2 s, <span class=\"mono\">2 &rarr; 3</span>"),
            std::string::npos)
      << page;
  auto j = report::StatusJson(v);
  EXPECT_EQ(j["last_update"]["result"], "updated");
  EXPECT_EQ(j["last_update"]["to_version"], "3");
  std::string m = report::RenderMetrics(v);
  EXPECT_TRUE(HasLine(m, "gpuhost_update_last_attempt_result{result=\"updated\"} 1")) << m;
  EXPECT_TRUE(HasLine(m, "gpuhost_update_last_attempt_result{result=\"failed\"} 0"));
  EXPECT_TRUE(HasLine(m, "gpuhost_update_last_attempt_duration_seconds 41.250000"));
  EXPECT_TRUE(HasLine(m, "gpuhost_update_last_attempt_timestamp_seconds 1796104841"));
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/metrics.txt", m).ok());
  int status = -1;
  std::string out =
      RunCommand("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "") << m;
  EXPECT_TRUE(report::StatusJson(RolledBackView())["last_update"].is_null());
}

TEST(BootReportTest, SnapshotReloadsWhenTheUpdateRecordChanges) {
  TempDir dir;
  auto s = H200State();
  s.boot = RolledBack();
  WriteState(dir.path(), s);
  report::SnapshotCache cache(dir.path() + "/state.json", "h200", {"0.1.0", "3.0.19"});
  EXPECT_NE(cache.Current()->api.find("\"last_update\": null"), std::string::npos);
  RootFs fs(dir.path());
  boot::UpdateAttempt a;
  a.result = "failed";
  a.message = "exit status 1";
  ASSERT_TRUE(boot::WriteUpdateAttempt(fs, "", a).ok());
  auto snap = cache.Current();
  EXPECT_EQ(cache.loads(), 2);
  EXPECT_NE(snap->api.find("\"result\": \"failed\""), std::string::npos) << snap->api;
}

}  // namespace
}  // namespace gpuhost::testing
