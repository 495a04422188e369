#include "report/view.h"

#include <gtest/gtest.h>

#include "report/state_fixtures.h"

namespace gpuhost::testing {
namespace {

using result::Outcome;

using report::Evaluate;
using report::View;

View Loaded(result::State s) {
  View v;
  v.source = View::Source::kLoaded;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.boot_id = s.boot_id;
  v.state = std::move(s);
  return v;
}

TEST(HealthTest, MissingStateFileMeansNoRunYet) {
  View v;
  v.state_path = "/var/lib/gpuhost/state.json";
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "no-state");
  EXPECT_EQ(h.reason, "no state yet: the agent has not finished a run");
}

TEST(HealthTest, InvalidStateFileIsNamed) {
  View v;
  v.source = View::Source::kInvalid;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.load_error = "not valid JSON";
  auto h = Evaluate(v);
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.reason, "/var/lib/gpuhost/state.json: not valid JSON");
  v.load_error = "open /var/lib/gpuhost/state.json: Permission denied";
  EXPECT_EQ(Evaluate(v).reason, v.load_error);  // named once, not twice
}

TEST(HealthTest, OkAndDegradedAnswer200) {
  auto s = H200State();
  s.result = "ok";
  s.warnings.clear();
  s.inventory.warnings.clear();
  EXPECT_EQ(Evaluate(Loaded(s)).http_status, 200);
  EXPECT_EQ(Evaluate(Loaded(s)).status, "ok");

  auto d = Evaluate(Loaded(H200State()));
  EXPECT_EQ(d.http_status, 200);
  EXPECT_EQ(d.status, "degraded");
  EXPECT_EQ(d.reason, "0000:00:06.0: no reset_method: one VM start per host boot");
}

TEST(HealthTest, FailedActionOrErrorAnswers503WithTheFirst) {
  auto s = H200State();
  s.actions[1].outcome = Outcome::kFailed;
  s.actions[1].message = "driver is nvidia after drivers_probe";
  auto h = Evaluate(Loaded(s));
  EXPECT_EQ(h.http_status, 503);
  EXPECT_EQ(h.status, "failed");
  EXPECT_EQ(h.reason, "bind-vfio 0000:00:06.0 failed: driver is nvidia after drivers_probe");

  s.errors.push_back({"apply", "policy: unknown key"});
  EXPECT_EQ(Evaluate(Loaded(s)).reason, "apply: policy: unknown key");

  auto f = H200State();
  f.result = "failed";
  EXPECT_EQ(Evaluate(Loaded(f)).http_status, 503);
  f.result = "weird";
  EXPECT_EQ(Evaluate(Loaded(f)).reason, "unknown result 'weird'");
}

TEST(ViewTest, GpuRowsJoinInventoryAndDecisions) {
  auto s = H200State();
  auto rows = report::GpuRows(s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].assignment, "vfio");
  EXPECT_EQ(rows[0].driver, "nvidia");
  ASSERT_NE(rows[0].decision, nullptr);
  EXPECT_EQ(rows[0].decision->rule, "policy gpus[0] (H200 for VMs)");
  s.plan.gpus.clear();
  EXPECT_EQ(report::GpuRows(s)[0].assignment, "undecided");
}

TEST(ViewTest, KernelParamsWantedVersusInEffect) {
  auto s = H200State();
  s.plan.kernel_params.push_back("quiet");  // on the capture's cmdline
  auto rows = report::KernelParamRows(s);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].param, "intel_iommu=on");
  EXPECT_FALSE(rows[0].in_effect);
  EXPECT_EQ(rows[2].param, "quiet");
  EXPECT_TRUE(rows[2].in_effect);
}

TEST(ViewTest, CmdlineWordsStopAtInitArguments) {
  EXPECT_EQ(report::CmdlineWords("  quiet  iommu=pt -- --init-flag x\n"),
            std::vector<std::string>({"quiet", "iommu=pt"}));
}

TEST(ViewTest, ModulesCarryTheirReadBack) {
  auto s = H200State();
  auto rows = report::ModuleRows(s);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].name, "vfio_pci");
  EXPECT_EQ(rows[0].outcome, Outcome::kDone);
  ASSERT_NE(rows[0].check, nullptr);
  EXPECT_TRUE(rows[0].check->ok);
  ASSERT_EQ(report::OtherChecks(s).size(), 2u);
}

TEST(ViewTest, WarningsAreListedOnce) {
  auto s = H200State();
  s.plan.warnings = s.warnings;  // apply copied the plan's warning
  s.inventory.warnings.push_back({"inventory", "pci.ids missing"});
  auto ws = report::AllWarnings(s);
  ASSERT_EQ(ws.size(), 2u);
  EXPECT_EQ(ws[1].message, "pci.ids missing");
}

}  // namespace
}  // namespace gpuhost::testing
