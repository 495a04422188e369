#include "report/page.h"

#include <gtest/gtest.h>

#include "report/state_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(PageTest, EscapesEverythingFromTheMachine) {
  EXPECT_EQ(report::HtmlEscape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
  auto s = H200State();
  s.inventory.system.cpu.model = "<img src=x onerror=alert(1)>";
  s.warnings.push_back({"<b>", "</td><script>"});
  s.plan.gpus[0].reason = "<iframe>";
  s.checks[0].actual = "\"><svg>";
  auto v = Loaded(s);
  v.hostname = "host<1>";
  std::string page = report::RenderPage(v);
  for (const char* bad : {"<img", "<b>", "<script", "<iframe", "<svg"}) {
    EXPECT_EQ(page.find(bad), std::string::npos) << bad;
  }
  EXPECT_NE(page.find("host&lt;1&gt;"), std::string::npos);
}

TEST(PageTest, GpuTableShowsAssignmentAndWhy) {
  std::string page = report::RenderPage(Loaded(H200State()));
  EXPECT_EQ(Count(page, "<table id=\"gpus\">"), 1u);
  EXPECT_NE(page.find("0000:00:06.0"), std::string::npos);
  EXPECT_NE(page.find("<span class=\"tag vfio\">vfio</span>"), std::string::npos);
  EXPECT_NE(page.find("Policy rule gpus[0] matches 10de:2335"), std::string::npos);
  EXPECT_NE(page.find("policy gpus[0] (H200 for VMs)"), std::string::npos);
}

TEST(PageTest, HasEverySection) {
  std::string page = report::RenderPage(Loaded(H200State()));
  for (const char* id : {"id=\"machine\"", "id=\"kernel-params\"", "id=\"modules\"",
                         "id=\"checks\"", "id=\"iommu-groups\"", "id=\"actions\"", "id=\"timings\"",
                         "id=\"problems\"", "id=\"health\""}) {
    EXPECT_NE(page.find(id), std::string::npos) << id;
  }
  EXPECT_NE(page.find("missing: takes effect after a reboot"), std::string::npos);
  EXPECT_NE(page.find("kernel.dmesg_restrict"), std::string::npos);
  EXPECT_NE(page.find("853.4 ms"), std::string::npos);  // total
  EXPECT_EQ(page.find("<script"), std::string::npos);   // readable without JavaScript
}

TEST(PageTest, WithoutStateSaysWhy) {
  report::View v;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.hostname = "h200";
  std::string page = report::RenderPage(v);
  EXPECT_NE(page.find("no state yet: the agent has not finished a run"), std::string::npos);
  EXPECT_EQ(page.find("id=\"gpus\""), std::string::npos);
}

TEST(PageTest, GpuServerFixtureListsEveryGpu) {
  TempDir dir;
  std::string page = report::RenderPage(Loaded(GpuServerState(dir.path())));
  size_t table = page.find("<table id=\"gpus\">");
  ASSERT_NE(table, std::string::npos);
  std::string gpus = page.substr(table, page.find("</table>", table) - table);
  EXPECT_EQ(Count(gpus, "<tr>"), 6u);  // header and five GPUs
  EXPECT_GE(Count(gpus, "tag vfio"), 1u);
  EXPECT_GE(Count(gpus, "tag host"), 1u);
}

}  // namespace
}  // namespace gpuhost::testing
