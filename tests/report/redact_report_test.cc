// Secrets on the kernel command line never leave the machine (inventory/redact.h):
// the state file the agent writes, the page, API and metrics served from it,
// the same renderings of a state still in memory, and `inventory` show the
// parameters' names, never their values.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "plan/plan_fixtures.h"
#include "report/http_client.h"
#include "report/metrics.h"
#include "report/page.h"
#include "report/serve.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "report/view.h"
#include "result/state.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

constexpr const char* kCmdline =
    "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on iommu=pt "
    "systemd.set_credential=gpuhost.token:s3cr3t-cred "
    "systemd.set_credential_binary=gpuhost.tls-key:c2VjcmV0LWJpbg== "
    "foo.password=hunter2 api_token=t0k3n-value rd.luks.passphrase=\"luks pass\" quiet\n";
constexpr const char* kSecrets[] = {"s3cr3t-cred", "c2VjcmV0LWJpbg", "hunter2", "t0k3n-value",
                                    "luks pass"};

void ExpectNoSecret(const std::string& text, const std::string& where) {
  EXPECT_FALSE(text.empty()) << where;
  for (const char* secret : kSecrets) {
    EXPECT_EQ(text.find(secret), std::string::npos) << where << " shows " << secret;
  }
}

// The redacted line, keeping each name and the credential ids.
void ExpectRedactedLine(const std::string& line, const std::string& where) {
  for (const char* kept : {"systemd.set_credential=gpuhost.token:<redacted>",
                           "systemd.set_credential_binary=gpuhost.tls-key:<redacted>",
                           "foo.password=<redacted>", "api_token=<redacted>",
                           "rd.luks.passphrase=\"<redacted>\"", "intel_iommu=on", "iommu=pt"}) {
    EXPECT_NE(line.find(kept), std::string::npos) << where << " lacks " << kept << ": " << line;
  }
}

TEST(RedactReportTest, AStateInMemoryRendersWithoutSecrets) {
  auto s = H200State();
  s.inventory.system.cmdline = kCmdline;
  auto v = Loaded(s);
  std::string state = result::StateToJson(s).dump();
  ExpectNoSecret(state, "state.json");
  auto j = nlohmann::json::parse(state);
  ExpectRedactedLine(j["inventory"]["system"]["cmdline"].get<std::string>(), "state.json");

  std::string page = report::RenderPage(v);
  ExpectNoSecret(page, "page");
  EXPECT_NE(page.find("systemd.set_credential=gpuhost.token:&lt;redacted&gt;"), std::string::npos);

  auto api = report::StatusJson(v);
  ExpectNoSecret(api.dump(), "API");
  ExpectRedactedLine(api["machine"]["cmdline"].get<std::string>(), "API machine.cmdline");
  const auto& words = api["kernel_params"]["in_effect"];
  EXPECT_NE(std::find(words.begin(), words.end(), "intel_iommu=on"), words.end());
  EXPECT_NE(std::find(words.begin(), words.end(), "api_token=<redacted>"), words.end());

  ExpectNoSecret(report::RenderMetrics(v), "metrics");
  EXPECT_EQ(s.inventory.system.cmdline, kCmdline) << "rendering leaves the state alone";
}

// A wanted parameter whose value the line hides (a policy's rd.luks.key=FILE)
// is in effect when apply found it, in memory and read back from state.json.
TEST(RedactReportTest, AWantedParameterWithAHiddenValueStaysInEffect) {
  auto s = H200State();
  s.inventory.system.cmdline = std::string(kCmdline) + " rd.luks.key=/etc/k.bin:UUID=1";
  s.plan.kernel_params = {"intel_iommu=on", "rd.luks.key=/etc/k.bin:UUID=1"};
  s.kernel_params_missing.clear();
  auto back = result::StateFromJson(result::StateToJson(s));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  for (const auto* state : {&s, &*back}) {
    auto rows = report::KernelParamRows(*state);
    ASSERT_EQ(rows.size(), 2u);
    EXPECT_TRUE(rows[0].in_effect);
    EXPECT_TRUE(rows[1].in_effect) << rows[1].param;
  }
  s.kernel_params_missing = {"rd.luks.key=/etc/k.bin:UUID=1"};  // apply did not find it
  EXPECT_FALSE(report::KernelParamRows(s)[1].in_effect);
}

// The real agent on a tree whose /proc/cmdline carries secrets: its plan reads
// them in memory, its state file, `inventory` and what serve makes of the state
// file do not show them.
TEST(RedactReportTest, TheAgentsStateFileAndWhatServeShowsHideSecrets) {
  TempDir dir;
  BuildGpuServer(dir.path());
  SysfsBuilder(dir.path()).Write("/proc/cmdline", kCmdline);
  int st = -1;
  std::string out =
      RunCommand("'" + AgentBinary() + "' apply --root '" + dir.path() + "' 2>&1", &st);
  ASSERT_EQ(st, 0) << out;
  ExpectNoSecret(out, "apply's output");
  auto text = ReadFileAt(dir.path() + "/var/lib/gpuhost/state.json");
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  ExpectNoSecret(*text, "state.json");
  auto state = nlohmann::json::parse(*text);
  ExpectRedactedLine(state["inventory"]["system"]["cmdline"].get<std::string>(), "state.json");
  EXPECT_EQ(state["kernel_params_missing"], nlohmann::json::array())
      << "the plan read the real line";

  for (const char* args : {"inventory", "inventory --json"}) {
    std::string inv =
        RunCommand("'" + AgentBinary() + "' " + args + " --root '" + dir.path() + "' 2>&1", &st);
    EXPECT_EQ(st, 0) << inv;
    ExpectNoSecret(inv, args);
    EXPECT_NE(inv.find("gpuhost.token:<redacted>"), std::string::npos) << args << ": " << inv;
  }

  report::ServeOptions opts;
  opts.listen = {"127.0.0.1:0"};
  opts.root = dir.path();
  opts.state_dir = "/var/lib/gpuhost";
  opts.hostname = "h";
  opts.libvirt = false;
  opts.nvml = false;
  report::StatusServer server(opts);
  auto ports = server.Start();
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  auto page = Get((*ports)[0], "/");
  auto api = Get((*ports)[0], "/api/v1/status");
  auto metrics = Get((*ports)[0], "/metrics");
  server.Stop();
  ASSERT_EQ(page.status, 200);
  ASSERT_EQ(api.status, 200);
  ASSERT_EQ(metrics.status, 200);
  ExpectNoSecret(page.body, "page");
  EXPECT_NE(page.body.find("gpuhost.token:&lt;redacted&gt;"), std::string::npos);
  ExpectNoSecret(api.body, "API");
  ExpectRedactedLine(nlohmann::json::parse(api.body)["machine"]["cmdline"].get<std::string>(),
                     "API");
  ExpectNoSecret(metrics.body, "metrics");
}

}  // namespace
}  // namespace gpuhost::testing
