// End to end: the real server, the status page opened in headless Chromium
// (Debian's `chromium`, in the Makefile's BUILD_DEPS). The DOM Chromium
// built must hold the GPU table, and a screenshot is left beside the test
// binary (build/tests/status-page.png) for a person to look at.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "report/agent_process.h"
#include "report/state_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

std::string Chromium(const std::string& profile, const std::string& args) {
  // --no-sandbox: tests run as root in CI. Nothing leaves loopback.
  std::string cmd =
      "timeout 90 chromium --headless --no-sandbox --disable-gpu --disable-quic "
      "--no-first-run --disable-background-networking --disable-component-update "
      "--disable-sync --disable-dev-shm-usage --hide-scrollbars --virtual-time-budget=3000 "
      "--user-data-dir=" +
      profile + " " + args + " 2>/dev/null";
  int status = -1;
  std::string out = RunCommand(cmd, &status);
  EXPECT_EQ(status, 0) << "chromium failed (apt-get install chromium): " << cmd;
  return out;
}

TEST(BrowserTest, GpuTableRendersInChromium) {
  ASSERT_EQ(system("command -v chromium >/dev/null"), 0)
      << "chromium is missing: make deps (Debian package chromium)";
  TempDir state, scratch, profile;
  WriteState(state.path(), GpuServerState(scratch.path()));
  ServeProcess server(state.path());
  ASSERT_NE(server.port(), 0);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/";

  std::string dom = Chromium(profile.path(), "--dump-dom " + url);
  size_t table = dom.find("<table id=\"gpus\">");
  ASSERT_NE(table, std::string::npos) << dom.substr(0, 2000);
  std::string gpus = dom.substr(table, dom.find("</table>", table) - table);
  EXPECT_EQ(Count(gpus, "<tr>"), 6u) << gpus;  // the header row and five GPUs
  EXPECT_NE(gpus.find("<span class=\"tag vfio\">vfio</span>"), std::string::npos);
  EXPECT_NE(gpus.find("<span class=\"tag host\">host</span>"), std::string::npos);

  std::string shot = std::string(getcwd(nullptr, 0)) + "/status-page.png";
  unlink(shot.c_str());
  Chromium(profile.path(), "--screenshot=" + shot + " --window-size=1366,900 " + url);
  struct stat st;
  ASSERT_EQ(stat(shot.c_str(), &st), 0) << shot;
  EXPECT_GT(st.st_size, 20000) << "a nearly empty screenshot: " << shot;
  std::printf("screenshot: %s\n", shot.c_str());
  // The whole page, for review.
  std::string full = std::string(getcwd(nullptr, 0)) + "/status-page-full.png";
  Chromium(profile.path(), "--screenshot=" + full + " --window-size=1366,2600 " + url);
  EXPECT_EQ(stat(full.c_str(), &st), 0) << full;
}

}  // namespace
}  // namespace gpuhost::testing
