#include "report/page.h"

#include <gtest/gtest.h>

#include "inventory/inventory_test_util.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(PageTest, EscapesEverythingFromTheMachine) {
  EXPECT_EQ(report::HtmlEscape("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
  inventory::Inventory inv;
  inv.system.cpu.model = "<img src=x onerror=alert(1)>";
  inv.warnings.push_back({"<b>", "</td>"});
  std::string page = report::RenderPage(inv, "host<1>");
  EXPECT_EQ(page.find("<img"), std::string::npos);
  EXPECT_EQ(page.find("<b>"), std::string::npos);
  EXPECT_NE(page.find("host&lt;1&gt;"), std::string::npos);
}

TEST(PageTest, ListsTheGpus) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  std::string page = report::RenderPage(inv, "h200");
  EXPECT_NE(page.find("<table id=\"gpus\">"), std::string::npos);
  EXPECT_NE(page.find("0000:00:06.0"), std::string::npos);
  EXPECT_NE(page.find("nvidia"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
