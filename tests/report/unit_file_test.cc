// The shipped units stay sandboxed: `systemd-analyze security` rates
// gpuhost-serve.service and gpuhost-policy-fetch.service at most 2.0 and
// gpuhost-agent.service at most 5.0 (bookworm's systemd 252 and later can
// rate a unit file offline). Also: serve has sd_notify with a watchdog and
// no capabilities; the agent may write where its config files go and
// nowhere else in /etc; the policy fetch has IP and no capability, the
// agent capabilities and no IP, and the agent reads the record where the
// fetch writes it.
#include <gtest/gtest.h>

#include <algorithm>

#include "apply/reboot_guard.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "plan/config_files.h"
#include "run/fetch_record.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

std::string UnitPath(const std::string& name = "gpuhost-serve.service") {
  return TestDataDir() + "/../../overlays/base/usr/lib/systemd/system/" + name;
}

// Prints the rating; fails above `threshold` (the exposure times ten).
void ExpectExposureAtMost(const std::string& unit, int threshold) {
  ASSERT_EQ(system("command -v systemd-analyze >/dev/null"), 0)
      << "systemd-analyze is missing: make deps (Debian package systemd)";
  int status = -1;
  // --threshold: above it the exit status is non-zero.
  std::string out = RunCommand("systemd-analyze security --offline=true --threshold=" +
                                   std::to_string(threshold) + " " + unit + " 2>&1",
                               &status);
  EXPECT_EQ(status, 0) << out;
  size_t at = out.find("Overall exposure level");
  ASSERT_NE(at, std::string::npos) << out;
  std::printf("%s\n", out.substr(at, out.find('\n', at) - at).c_str());
}

// Every word of every `key=` line of the unit ("-" prefixes kept).
std::vector<std::string> Values(const std::string& unit, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& line : Split(unit, '\n')) {
    if (!StartsWith(line, key + "=")) continue;
    for (const auto& w : Split(line.substr(key.size() + 1), ' ')) {
      if (!w.empty()) out.push_back(w);
    }
  }
  return out;
}

TEST(ServeUnitTest, ExposureAtMostTwo) { ExpectExposureAtMost(UnitPath(), 20); }

TEST(ServeUnitTest, NotifyWatchdogAndNoCapabilities) {
  auto unit = ReadFileAt(UnitPath());
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  for (const char* line :
       {"\nType=notify\n", "\nWatchdogSec=", "\nCapabilityBoundingSet=\n", "\nDynamicUser=yes\n",
        "\nProtectSystem=strict\n",
        "\nExecStart=/usr/bin/gpuhost-agent serve $GPUHOST_SERVE_ARGS\n",
        "\nImportCredential=gpuhost.policy\n", "\nImportCredential=gpuhost.listen\n",
        "\nImportCredential=gpuhost.tls-cert\n", "\nImportCredential=gpuhost.tls-key\n",
        "\nImportCredential=gpuhost.token\n", "\nImportCredential=gpuhost.client-ca\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
}

TEST(AgentUnitTest, ExposureAtMostFive) {
  ExpectExposureAtMost(UnitPath("gpuhost-agent.service"), 50);
}

// ProtectSystem=strict makes /etc read-only: every file the plan writes must
// lie under a ReadWritePaths= entry, or apply fails with EROFS on a real host.
TEST(AgentUnitTest, WritesOnlyWhereItsFilesGo) {
  auto unit = ReadFileAt(UnitPath("gpuhost-agent.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_NE(unit->find("\nProtectSystem=strict\n"), std::string::npos);
  EXPECT_NE(unit->find("\nStateDirectory=gpuhost\n"), std::string::npos);  // state.json
  EXPECT_NE(unit->find("\nRuntimeDirectory=gpuhost\n"), std::string::npos);
  EXPECT_TRUE(StartsWith(apply::kRebootRequiredFile, "/run/gpuhost/"));
  std::vector<std::string> writable;
  for (auto w : Values(*unit, "ReadWritePaths")) writable.push_back(w[0] == '-' ? w.substr(1) : w);
  for (const char* file :
       {plan::kModprobeConf, plan::kBlacklistConf, plan::kModulesLoadConf, plan::kUdevRules,
        plan::kSysctlConf, plan::kXorgConf, plan::kGrubConf, "/boot/grub/grub.cfg"}) {
    std::string dir = std::string(file).substr(0, std::string(file).rfind('/'));
    EXPECT_NE(std::find(writable.begin(), writable.end(), dir), writable.end())
        << file << ": its directory is not in ReadWritePaths=";
  }
  // Nothing else: /etc as a whole stays read-only.
  for (const auto& w : writable) EXPECT_NE(w, "/etc") << "all of /etc is writable";
}

// The bounding set is exactly what the agent's jobs need (the unit's comment
// says which job needs which); no ambient capabilities for its children.
TEST(AgentUnitTest, OnlyTheCapabilitiesItsJobsNeed) {
  auto unit = ReadFileAt(UnitPath("gpuhost-agent.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  auto caps = Values(*unit, "CapabilityBoundingSet");
  std::sort(caps.begin(), caps.end());
  EXPECT_EQ(caps, (std::vector<std::string>{"CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN",
                                            "CAP_SYS_MODULE", "CAP_SYS_PTRACE"}));
  EXPECT_NE(unit->find("\nAmbientCapabilities=\n"), std::string::npos);
  EXPECT_NE(unit->find("\nNoNewPrivileges=yes\n"), std::string::npos);
  // The net.* hardening sysctls must reach the host's network namespace.
  EXPECT_EQ(unit->find("\nPrivateNetwork=yes"), std::string::npos);
}

TEST(PolicyFetchUnitTest, ExposureAtMostTwo) {
  ExpectExposureAtMost(UnitPath("gpuhost-policy-fetch.service"), 20);
}

// The network side runs as root without a single capability, only on a
// fleet node, and only writes its RuntimeDirectory=.
TEST(PolicyFetchUnitTest, NoCapabilitiesOnlyOnFleetNodesWritesItsRecord) {
  auto unit = ReadFileAt(UnitPath("gpuhost-policy-fetch.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  for (const char* line :
       {"\nConditionCredential=gpuhost.policy-url\n", "\nType=oneshot\n", "\nRemainAfterExit=yes\n",
        "\nCapabilityBoundingSet=\n", "\nAmbientCapabilities=\n", "\nNoNewPrivileges=yes\n",
        "\nProtectSystem=strict\n", "\nRuntimeDirectory=gpuhost-policy\n",
        "\nRuntimeDirectoryMode=0700\n", "\nBefore=gpuhost-agent.service\n",
        "\nAfter=systemd-networkd.service\n",
        "\nExecStartPre=-/usr/lib/systemd/systemd-networkd-wait-online --any "
        "--operational-state=routable --timeout=120\n",
        "\nImportCredential=gpuhost.policy\n", "\nImportCredential=gpuhost.policy-url\n",
        "\nImportCredential=gpuhost.policy-default-url\n", "\nImportCredential=gpuhost.policy-ca\n",
        "\nSystemCallFilter=~@privileged @resources\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  for (const char* key : {"After", "Wants", "Requires"}) {
    for (const auto& u : Values(*unit, key)) {
      EXPECT_NE(u, "network-online.target")
          << key << "=: ordering applies even when the condition fails: every boot would wait";
    }
  }
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "fetch-policy", "--out",
                                      run::kFetchRecordPath}));
  EXPECT_TRUE(StartsWith(run::kFetchRecordPath, "/run/gpuhost-policy/"));
  auto families = Values(*unit, "RestrictAddressFamilies");
  std::sort(families.begin(), families.end());
  EXPECT_EQ(families, (std::vector<std::string>{"AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"}));
}

// The agent keeps no IP, pulls the fetch in before it, reads its record and
// has the settings to make the same choice.
TEST(AgentUnitTest, NoIpTheFetchUnitsRecordAndItsSettings) {
  auto unit = ReadFileAt(UnitPath("gpuhost-agent.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(Values(*unit, "RestrictAddressFamilies"),
            (std::vector<std::string>{"AF_UNIX", "AF_NETLINK"}));
  EXPECT_EQ(Values(*unit, "IPAddressDeny"), (std::vector<std::string>{"any"}));
  EXPECT_TRUE(Values(*unit, "IPAddressAllow").empty());
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "apply", "--fetched",
                                      run::kFetchRecordPath}));
  for (const char* line :
       {"\nWants=gpuhost-policy-fetch.service\n", "\nAfter=gpuhost-policy-fetch.service\n",
        "\nImportCredential=gpuhost.policy\n", "\nImportCredential=gpuhost.policy-url\n",
        "\nImportCredential=gpuhost.policy-default-url\n",
        "\nImportCredential=gpuhost.policy-ca\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
}

}  // namespace
}  // namespace gpuhost::testing
