// The shipped gpuhost-serve.service stays sandboxed: `systemd-analyze
// security` rates it at most 2.0 (bookworm's systemd 252 and later can rate a
// unit file offline). Also: sd_notify with a watchdog, and no capabilities.
#include <gtest/gtest.h>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

std::string UnitPath() {
  return TestDataDir() + "/../../overlays/base/usr/lib/systemd/system/gpuhost-serve.service";
}

TEST(ServeUnitTest, ExposureAtMostTwo) {
  ASSERT_EQ(system("command -v systemd-analyze >/dev/null"), 0)
      << "systemd-analyze is missing: make deps (Debian package systemd)";
  int status = -1;
  // --threshold is the exposure times ten; above it the exit status is non-zero.
  std::string out = RunCommand(
      "systemd-analyze security --offline=true --threshold=20 " + UnitPath() + " 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  size_t at = out.find("Overall exposure level");
  ASSERT_NE(at, std::string::npos) << out;
  std::printf("%s\n", out.substr(at, out.find('\n', at) - at).c_str());
}

TEST(ServeUnitTest, NotifyWatchdogAndNoCapabilities) {
  auto unit = ReadFileAt(UnitPath());
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  for (const char* line : {"\nType=notify\n", "\nWatchdogSec=", "\nCapabilityBoundingSet=\n",
                           "\nDynamicUser=yes\n", "\nProtectSystem=strict\n",
                           "\nExecStart=/usr/bin/gpuhost-agent serve $GPUHOST_SERVE_ARGS\n",
                           "\nImportCredential=gpuhost.policy\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace gpuhost::testing
