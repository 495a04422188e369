// Whole agent runs of a fleet node (RunAgent on a fixture tree, the policy
// from a real HTTPS server): what state.json, the API, the page and the
// metrics say about the policy's source, a bad fetched policy failing the run
// with its URL, and the last good policy kept only once it passed every check.
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "fleet/policy_server.h"
#include "plan/plan_fixtures.h"
#include "result/run_marker.h"
#include "report/snapshot.h"
#include "run/agent_run.h"
#include "support/fake_kernel_fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using nlohmann::json;

constexpr const char* kUuid = "5eed0b07-aaaa-4bbb-8ccc-0123456789ab";
constexpr const char* kGood = "{\"hardening\": \"strict\", \"comment\": \"node policy\"}\n";

class FleetRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/root";
    BuildGpuServer(root_);
    SysfsBuilder b(root_);
    b.Write(result::kBootIdPath, "5eed0b07-1111-4222-8333-444455556666\n");
    b.Write("/sys/class/dmi/id/product_uuid", std::string(kUuid) + "\n");
    b.Write("/sys/class/dmi/id/product_serial", "SN-17\n");
    server_ = std::make_unique<PolicyServer>(dir_.path());
    ASSERT_NE(server_->port(), 0);
    node_url_ = server_->base() + "/nodes/" + kUuid + ".json";
  }

  int Run(bool dry_run = false) {
    run::RunOptions o;
    o.root = root_;
    o.module_timeout_ms = 400;
    o.dry_run = dry_run;
    o.fleet.policy_url = "https://127.0.0.1:" + std::to_string(port_ ? port_ : server_->port()) +
                         "/nodes/{uuid}.json";
    o.fleet.ca_file = ca_file_.empty() ? server_->ca_file() : ca_file_;
    o.fleet.timeout_ms = 1000;
    FakeKernelFs fs(root_);
    int code = run::RunAgent(o, {.fs = &fs});
    log_ = fs.log();
    return code;
  }
  bool Wrote(const std::string& name) const {
    for (const auto& l : log_) {
      if (l == "write /var/lib/gpuhost/" + name) return true;
    }
    return false;
  }
  json State() {
    auto text = ReadFileAt(root_ + "/var/lib/gpuhost/state.json");
    EXPECT_TRUE(text.ok()) << text.status().ToString();
    return json::parse(text.ok() ? *text : "{}");
  }
  std::string LastGood() {
    auto text = ReadFileAt(root_ + "/var/lib/gpuhost/policy.last-good.json");
    return text.ok() ? *text : "";
  }
  std::shared_ptr<const report::Snapshot> Serve() {
    report::SnapshotCache cache(root_ + "/var/lib/gpuhost/state.json", "h", {"0.1.0", "3.0"},
                                nullptr, nullptr, root_);
    return cache.Current();
  }

  TempDir dir_;
  std::string root_;
  std::string node_url_;
  std::string ca_file_;
  int port_ = 0;
  std::unique_ptr<PolicyServer> server_;
  std::vector<std::string> log_;  // the last run's writes (FakeKernelFs)
};

TEST_F(FleetRunTest, TheStateThePageTheApiAndTheMetricsNameTheSource) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", kGood);
  ASSERT_EQ(Run(), 0);
  json st = State();
  ASSERT_TRUE(st["policy"].is_object()) << st.dump();
  EXPECT_EQ(st["policy"]["source"], "node");
  EXPECT_EQ(st["policy"]["url"], node_url_);
  EXPECT_EQ(st["policy"]["url_template_from"], "--policy-url");
  EXPECT_EQ(st["policy"]["skipped"], json::array());
  EXPECT_NE(st["result"], "failed") << st["errors"].dump();
  EXPECT_EQ(st["warnings"].dump().find("no policy fetched"), std::string::npos);
  auto snap = Serve();
  json api = json::parse(snap->api);
  EXPECT_EQ(api["policy"]["source"], "node");
  EXPECT_EQ(api["policy"]["url"], node_url_);
  EXPECT_NE(snap->metrics.find("gpuhost_policy_source{source=\"node\"} 1\n"), std::string::npos)
      << snap->metrics;
  EXPECT_NE(snap->metrics.find("gpuhost_policy_source{source=\"last-good\"} 0\n"),
            std::string::npos);
  EXPECT_NE(snap->metrics.find("gpuhost_policy_sources_skipped 0\n"), std::string::npos);
  EXPECT_NE(snap->page.find("<section id=\"policy\">"), std::string::npos);
  EXPECT_NE(snap->page.find(node_url_), std::string::npos);
  // Kept as the last good one, with where it came from.
  json kept = json::parse(LastGood());
  EXPECT_EQ(kept["policy"], kGood);
  EXPECT_EQ(kept["url"], node_url_);
  EXPECT_EQ(kept["source"], "node");
  EXPECT_TRUE(Wrote("policy.last-good.json"));
  // The same policy again: the kept file is left alone.
  ASSERT_NE(Run(), 2);
  EXPECT_FALSE(Wrote("policy.last-good.json"));
  EXPECT_TRUE(Wrote("state.json"));
}

TEST_F(FleetRunTest, ABadFetchedPolicyFailsTheRunNamingTheUrlAndKeepsNothing) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", kGood);
  ASSERT_EQ(Run(), 0);
  const std::string kept = LastGood();
  ASSERT_FALSE(kept.empty());
  // Unknown key: the parser's error, with the URL, line and column.
  server_->Put("/nodes/" + std::string(kUuid) + ".json",
               "{\"hardening\": \"strict\",\n \"gpu\": []}");
  EXPECT_EQ(Run(), 1);
  json st = State();
  EXPECT_EQ(st["result"], "failed");
  ASSERT_FALSE(st["errors"].empty());
  EXPECT_EQ(st["errors"][0]["where"], "policy");
  EXPECT_EQ(
      st["errors"][0]["message"].get<std::string>().rfind(node_url_ + ":2:2: unknown key 'gpu'", 0),
      0u)
      << st["errors"].dump();
  EXPECT_EQ(st["policy"]["source"], "node");
  EXPECT_EQ(st["actions"], json::array()) << "nothing applied from a bad policy";
  auto snap = Serve();
  EXPECT_EQ(snap->health.http_status, 503);
  EXPECT_EQ(snap->healthz.rfind("failed: policy: " + node_url_ + ":2:2:", 0), 0u) << snap->healthz;
  EXPECT_EQ(LastGood(), kept);
  // Parses, but does not fit this host (hugepages beyond its memory): the
  // same, and still not kept.
  server_->Put("/nodes/" + std::string(kUuid) + ".json",
               "{\"hugepages\": {\"size\": \"1G\", \"count\": 100000}}");
  EXPECT_EQ(Run(), 1);
  EXPECT_EQ(State()["result"], "failed");
  EXPECT_EQ(LastGood(), kept);
  // A dry run of a good one keeps nothing either.
  server_->Put("/nodes/" + std::string(kUuid) + ".json", "{\"hardening\": \"off\"}");
  EXPECT_EQ(Run(true), 0);
  EXPECT_EQ(LastGood(), kept);
}

TEST_F(FleetRunTest, AnUnreachableServerMeansTheLastGoodPolicyAndADegradedRun) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", kGood);
  ASSERT_EQ(Run(), 0);
  port_ = server_->port();
  ca_file_ = server_->ca_file();  // stays on disk
  server_.reset();
  EXPECT_EQ(Run(), 0);
  json st = State();
  EXPECT_EQ(st["policy"]["source"], "last-good");
  EXPECT_EQ(st["policy"]["url"], node_url_);
  ASSERT_EQ(st["policy"]["skipped"].size(), 2u);
  EXPECT_EQ(st["policy"]["skipped"][0]["source"], "node");
  EXPECT_EQ(st["policy"]["skipped"][1]["source"], "fleet-default");
  EXPECT_EQ(st["result"], "degraded");
  EXPECT_NE(st["warnings"].dump().find("no policy fetched (node " + node_url_), std::string::npos)
      << st["warnings"].dump();
  auto snap = Serve();
  EXPECT_NE(snap->metrics.find("gpuhost_policy_source{source=\"last-good\"} 1\n"),
            std::string::npos);
  EXPECT_NE(snap->metrics.find("gpuhost_policy_sources_skipped 2\n"), std::string::npos);
  EXPECT_EQ(snap->health.http_status, 200) << snap->healthz;
  EXPECT_NE(snap->page.find("Passed over"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
