// The shipped units stay sandboxed: `systemd-analyze security` rates
// gpuhost-serve.service and gpuhost-policy-fetch.service at most 2.0 and
// gpuhost-agent.service at most 5.0 (bookworm's systemd 252 and later can
// rate a unit file offline). Also: serve has sd_notify with a watchdog and
// no capabilities; the agent may write where its config files go and
// nowhere else in /etc; the policy fetch has IP and no capability, the
// agent capabilities and no IP, and the agent reads the record where the
// fetch writes it. The update machinery (docs/updates.md): the blessing unit
// judges counted boots only and reboots a refused one, the watchdog is
// armed, and the UKI names sysupdate writes are the names the agent reads.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "apply/reboot_guard.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "boot/efivar.h"
#include "boot/uki_name.h"
#include "boot/verdict.h"
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

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
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
        "\nExecStartPre=-/usr/lib/systemd/systemd-networkd-wait-online --any "
        "--operational-state=routable --timeout=120\n",
        "\nImportCredential=gpuhost.policy\n", "\nImportCredential=gpuhost.policy-url\n",
        "\nImportCredential=gpuhost.policy-default-url\n", "\nImportCredential=gpuhost.policy-ca\n",
        "\nSystemCallFilter=~@privileged @resources\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  for (const char* key : {"After", "Wants", "Requires"}) {
    for (const auto& u : Values(*unit, key)) {
      // Ordering applies even when the condition fails: every boot's agent would wait.
      // gpuhost-fleet-generator orders it after networkd on fleet nodes only.
      EXPECT_NE(u, "network-online.target") << key;
      EXPECT_NE(u, "systemd-networkd.service") << key;
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

std::string LibPath(const std::string& rel) {
  return TestDataDir() + "/../../overlays/base/usr/lib/" + rel;
}

TEST(BlessUnitTest, ExposureAtMostTwo) {
  ExpectExposureAtMost(UnitPath("gpuhost-bless.service"), 20);
}

// Before boot-complete.target and required by it, after the agent's run, only
// on counted boots (the variable systemd-boot sets, as the agent reads it),
// and a refusal reboots: that is what spends a bad version's tries.
TEST(BlessUnitTest, JudgesCountedBootsAfterTheRunAndRebootsARefusal) {
  auto unit = ReadFileAt(UnitPath("gpuhost-bless.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(Values(*unit, "ConditionPathExists"),
            (std::vector<std::string>{boot::LoaderVariablePath("LoaderBootCountPath")}));
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "bless"}));
  for (const char* line :
       {"\nAfter=gpuhost-agent.service\n", "\nBefore=boot-complete.target\n", "\nType=oneshot\n",
        "\nFailureAction=reboot\n", "\nRequiredBy=boot-complete.target\n",
        "\nStateDirectory=gpuhost\n", "\nCapabilityBoundingSet=\n", "\nPrivateNetwork=yes\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  // /proc/sys/kernel/random/boot_id names this boot: a pid-only /proc hides it.
  EXPECT_TRUE(Values(*unit, "ProcSubset").empty());
  auto preset = ReadFileAt(LibPath("systemd/system-preset/50-gpuhost.preset"));
  ASSERT_TRUE(preset.ok()) << preset.status().ToString();
  EXPECT_NE(preset->find("\nenable gpuhost-bless.service\n"), std::string::npos);
}

TEST(PinUnitTest, ExposureAtMostTwo) {
  ExpectExposureAtMost(UnitPath("gpuhost-vfio-pin.service"), 20);
}

// Before udev's coldplug and modules-load on every boot the agent's rules
// exist, pulled in by sysinit.target (presets cannot enable an early unit
// without [Install]), reading the same rules file apply writes.
TEST(PinUnitTest, RunsBeforeColdplugFromTheAgentsRules) {
  auto unit = ReadFileAt(UnitPath("gpuhost-vfio-pin.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(Values(*unit, "ConditionPathExists"), (std::vector<std::string>{plan::kUdevRules}));
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "pin-vfio"}));
  for (const char* line : {"\nDefaultDependencies=no\n", "\nType=oneshot\n",
                           "\nCapabilityBoundingSet=\n", "\nPrivateNetwork=yes\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  std::vector<std::string> before = Values(*unit, "Before");
  for (const char* u : {"systemd-udev-trigger.service", "systemd-modules-load.service"}) {
    EXPECT_TRUE(Has(before, u)) << u;
  }
  std::error_code ec;
  auto link =
      std::filesystem::read_symlink(UnitPath("sysinit.target.wants/gpuhost-vfio-pin.service"), ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_EQ(link.string(), "../gpuhost-vfio-pin.service");
}

// The path to the page (issue 19): the agent, the policy fetch it waits for
// (ordering holds even when the fetch's condition fails) and serve are ordered
// after what they read, not after sysinit.target or basic.target, which on a
// first boot also wait for the boot loader update, ldconfig and the journal
// catalogue; they are still stopped before shutdown.
TEST(PathToPageTest, AgentFetchAndServeWaitOnlyForWhatTheyRead) {
  for (const char* name :
       {"gpuhost-agent.service", "gpuhost-policy-fetch.service", "gpuhost-serve.service"}) {
    auto unit = ReadFileAt(UnitPath(name));
    ASSERT_TRUE(unit.ok()) << unit.status().ToString();
    EXPECT_NE(unit->find("\nDefaultDependencies=no\n"), std::string::npos) << name;
    EXPECT_EQ(Values(*unit, "Conflicts"), (std::vector<std::string>{"shutdown.target"})) << name;
    EXPECT_TRUE(Has(Values(*unit, "Before"), "shutdown.target")) << name;
    auto after = Values(*unit, "After");
    for (const char* need : {"local-fs.target", "systemd-tmpfiles-setup.service"}) {
      EXPECT_TRUE(Has(after, need)) << name << " After= lacks " << need;
    }
    for (const char* never :
         {"sysinit.target", "basic.target", "network-online.target", "multi-user.target"}) {
      EXPECT_FALSE(Has(after, never)) << name << " waits for " << never;
    }
  }
  auto agent = ReadFileAt(UnitPath("gpuhost-agent.service"));
  ASSERT_TRUE(agent.ok());
  for (const char* need : {"systemd-udev-trigger.service", "systemd-modules-load.service",
                           "systemd-sysctl.service", "gpuhost-policy-fetch.service"}) {
    EXPECT_TRUE(Has(Values(*agent, "After"), need)) << need;
  }
  auto serve = ReadFileAt(UnitPath("gpuhost-serve.service"));
  ASSERT_TRUE(serve.ok());
  for (const char* need : {"gpuhost-agent.service", "network.target"}) {
    EXPECT_TRUE(Has(Values(*serve, "After"), need)) << need;
  }
}

// The generator adds the fetch's ordering after the network stack where systemd
// hands it the credential gpuhost.policy-url (plain or encrypted), and nowhere else.
TEST(FleetGeneratorTest, OrdersTheFetchAfterTheNetworkOnFleetNodesOnly) {
  const std::string gen = TestDataDir() +
                          "/../../overlays/base/usr/lib/systemd/system-generators/"
                          "gpuhost-fleet-generator";
  TempDir dir;
  const std::string creds = dir.path() + "/creds", none = dir.path() + "/none";
  std::filesystem::create_directories(creds);
  std::filesystem::create_directories(none);
  auto run = [&](const std::string& env, const std::string& out) {
    int status = -1;
    std::string log = RunCommand(
        env + " " + gen + " " + out + " " + out + ".early " + out + ".late 2>&1", &status);
    EXPECT_EQ(status, 0) << log;
  };
  const std::string dropin = "/gpuhost-policy-fetch.service.d/50-fleet-network.conf";
  // Not a fleet node: no credential where systemd put them, nothing written.
  run("CREDENTIALS_DIRECTORY=" + none + " ENCRYPTED_CREDENTIALS_DIRECTORY=" + none,
      dir.path() + "/plain");
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/plain" + dropin));
  ASSERT_TRUE(WriteFileAtomic(creds + "/gpuhost.policy-url", "https://policy.example/%u\n").ok());
  // The credential in the plain directory, then in the encrypted one.
  for (const auto& [name, env] :
       {std::pair<std::string, std::string>{
            "plain-cred",
            "CREDENTIALS_DIRECTORY=" + creds + " ENCRYPTED_CREDENTIALS_DIRECTORY=" + none},
        {"encrypted-cred",
         "CREDENTIALS_DIRECTORY=" + none + " ENCRYPTED_CREDENTIALS_DIRECTORY=" + creds}}) {
    const std::string out = dir.path() + "/" + name;
    run(env, out);
    auto conf = ReadFileAt(out + dropin);
    ASSERT_TRUE(conf.ok()) << env << ": " << conf.status().ToString();
    EXPECT_NE(conf->find("\n[Unit]\n"), std::string::npos);
    EXPECT_EQ(Values(*conf, "After"),
              (std::vector<std::string>{"systemd-networkd.service", "nss-lookup.target"}))
        << env;
    EXPECT_FALSE(std::filesystem::exists(out + dropin + ".tmp"));
  }
}

TEST(WatchdogTest, RuntimeWatchdogArmed) {
  auto conf = ReadFileAt(LibPath("systemd/system.conf.d/50-gpuhost-watchdog.conf"));
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_NE(conf->find("\n[Manager]\n"), std::string::npos);
  EXPECT_EQ(Values(*conf, "RuntimeWatchdogSec"), (std::vector<std::string>{"30s"}));
  EXPECT_EQ(Values(*conf, "RebootWatchdogSec"), (std::vector<std::string>{"2min"}));
}

// Each transfer fetches from the placeholder only (the agent renders the
// node's URL into /run/sysupdate.d), protects the running version and keeps
// two instances: A and B.
TEST(SysupdateTest, TransfersUseThePlaceholderAndKeepTwoSlots) {
  for (const char* name : {"10-root.transfer", "11-root-verity.transfer",
                           "12-root-verity-sig.transfer", "90-uki.transfer"}) {
    auto t = ReadFileAt(LibPath(std::string("sysupdate.d/") + name));
    ASSERT_TRUE(t.ok()) << name << ": " << t.status().ToString();
    EXPECT_EQ(Values(*t, "Path").front(), "https://gpuhost-updates.invalid/") << name;
    EXPECT_EQ(Values(*t, "ProtectVersion"), (std::vector<std::string>{"%A"})) << name;
    EXPECT_EQ(Values(*t, "InstancesMax"), (std::vector<std::string>{"2"})) << name;
    EXPECT_EQ(Values(*t, "Type").front(), "url-file") << name;
  }
}

// sysupdate's target patterns, filled in as sysupdate and systemd-boot fill
// them, give names the agent parses back to the same version and counter.
TEST(SysupdateTest, UkiNamesAreTheOnesTheAgentReads) {
  auto t = ReadFileAt(LibPath("sysupdate.d/90-uki.transfer"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(Values(*t, "TriesLeft"), (std::vector<std::string>{"3"}));
  EXPECT_EQ(Values(*t, "PathRelativeTo"), (std::vector<std::string>{"boot"}));
  auto patterns = Values(*t, "MatchPattern");
  ASSERT_EQ(patterns.size(), 4u);  // the source's, then the target's three
  EXPECT_EQ(patterns[0], "%M_@v.efi");
  auto fill = [](std::string p) {
    const std::vector<std::pair<std::string, std::string>> values = {
        {"%M", "gpuhost-kvm-host"}, {"@v", "20261201.054200"}, {"@l", "0"}, {"@d", "3"}};
    for (const auto& [from, to] : values) {
      if (size_t at = p.find(from); at != std::string::npos) p.replace(at, from.size(), to);
    }
    return p;
  };
  auto used = boot::ParseUkiName(fill(patterns[1]), "gpuhost-kvm-host");
  ASSERT_TRUE(used) << fill(patterns[1]);
  EXPECT_EQ(used->version, "20261201.054200");
  EXPECT_EQ(boot::StateOf(*used), boot::UkiState::kBad);
  EXPECT_EQ(used->tries_done, 3);
  auto good = boot::ParseUkiName(fill(patterns[3]), "gpuhost-kvm-host");
  ASSERT_TRUE(good) << fill(patterns[3]);
  EXPECT_EQ(boot::StateOf(*good), boot::UkiState::kGood);
}

TEST(UpdateSourceUnitTest, ExposureAtMostTwo) {
  ExpectExposureAtMost(UnitPath("gpuhost-update-source.service"), 20);
}

// Before sysupdate, writing only /run/sysupdate.d, which sysupdate reads
// before the image's transfers; the URL from a credential or the policy.
TEST(UpdateSourceUnitTest, WritesTheNodesTransfersBeforeSysupdate) {
  auto unit = ReadFileAt(UnitPath("gpuhost-update-source.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  for (const char* line :
       {"\nBefore=systemd-sysupdate.service\n", "\nImportCredential=gpuhost.update-url\n",
        "\nImportCredential=gpuhost.update-tries\n", "\nImportCredential=gpuhost.policy\n",
        "\nRuntimeDirectory=sysupdate.d\n", "\nRuntimeDirectoryPreserve=yes\n",
        "\nProtectSystem=strict\n", "\nCapabilityBoundingSet=\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "update-source"}));
  auto dropin = ReadFileAt(UnitPath("systemd-sysupdate.service.d/50-gpuhost-source.conf"));
  ASSERT_TRUE(dropin.ok()) << dropin.status().ToString();
  EXPECT_NE(dropin->find("\nWants=gpuhost-update-source.service\n"), std::string::npos);
  EXPECT_NE(dropin->find("\nAfter=gpuhost-update-source.service\n"), std::string::npos);
}

// The periodic update: the timer starts the recorded run (not systemd's own
// sysupdate timer), only with a URL, after the transfers were written.
TEST(UpdateUnitTest, TimerRunsTheRecordedUpdateAfterTheSource) {
  auto unit = ReadFileAt(UnitPath("gpuhost-update.service"));
  ASSERT_TRUE(unit.ok()) << unit.status().ToString();
  EXPECT_EQ(Values(*unit, "ExecStart"),
            (std::vector<std::string>{"/usr/bin/gpuhost-agent", "update", "--reboot"}));
  for (const char* line :
       {"\nConditionPathExistsGlob=/run/sysupdate.d/*.transfer\n", "\nType=oneshot\n",
        "\nStateDirectory=gpuhost\n", "\nNoNewPrivileges=yes\n"}) {
    EXPECT_NE(unit->find(line), std::string::npos) << line;
  }
  auto after = Values(*unit, "After");
  EXPECT_NE(std::find(after.begin(), after.end(), "gpuhost-update-source.service"), after.end());
  // One routable link, waited for by the unit itself: network-online.target
  // would start wait-online for every link (2 minutes held in qa-update).
  for (const auto& u : after) EXPECT_NE(u, "network-online.target");
  for (const auto& u : Values(*unit, "Wants")) EXPECT_NE(u, "network-online.target");
  EXPECT_NE(unit->find("\nExecStartPre=-/usr/lib/systemd/systemd-networkd-wait-online --any "
                       "--operational-state=routable --timeout=120\n"),
            std::string::npos);
  auto families = Values(*unit, "RestrictAddressFamilies");
  EXPECT_NE(std::find(families.begin(), families.end(), "AF_NETLINK"), families.end())
      << "wait-online reads the links over netlink";
  auto timer = ReadFileAt(UnitPath("gpuhost-update.timer"));
  ASSERT_TRUE(timer.ok()) << timer.status().ToString();
  EXPECT_NE(timer->find("\nPersistent=yes\n"), std::string::npos);
  EXPECT_NE(timer->find("\nWantedBy=timers.target\n"), std::string::npos);
  EXPECT_TRUE(Values(*timer, "Unit").empty()) << "the timer starts gpuhost-update.service";
  auto preset = ReadFileAt(LibPath("systemd/system-preset/50-gpuhost.preset"));
  ASSERT_TRUE(preset.ok()) << preset.status().ToString();
  EXPECT_NE(preset->find("\nenable gpuhost-update.timer\n"), std::string::npos);
  EXPECT_EQ(preset->find("enable systemd-sysupdate.timer"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
