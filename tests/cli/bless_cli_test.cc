// `gpuhost-agent bless` as gpuhost-bless.service runs it, on --root trees:
// exit 0 only for a healthy, finished run of this boot; every verdict is
// recorded where the version after a rollback reads it (docs/updates.md).
#include <gtest/gtest.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "boot/efivar.h"
#include "boot/verdict.h"
#include "host/fs.h"
#include "result/run_marker.h"
#include "result/state.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

constexpr const char* kBoot = "0b7e1e57-0000-4000-8000-0000000000b1";

class BlessCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Write(result::kBootIdPath, std::string(kBoot) + "\n");
    Write("/usr/lib/os-release", "IMAGE_ID=gpuhost-kvm-host\nIMAGE_VERSION=3\n");
    Write("/efi/EFI/Linux/gpuhost-kvm-host_2.efi", "uki");
    Write("/efi/EFI/Linux/gpuhost-kvm-host_3+2-1.efi", "uki");
    Write(boot::LoaderVariablePath("LoaderBootCountPath"),
          boot::EncodeUtf16Variable("\\EFI\\Linux\\gpuhost-kvm-host_3+2-1.efi"));
  }
  void Write(const std::string& path, const std::string& text) {
    ASSERT_TRUE(fs_.WriteAtomic(path, text, 0644).ok()) << path;
  }
  // A finished run of `boot` with `result`; the marker names the same run.
  void Run(const std::string& boot, const std::string& result,
           const std::vector<inventory::Warning>& errors = {}) {
    result::State s;
    s.agent_version = "test";
    s.boot_id = boot;
    s.run_id = boot + "/1/1";
    s.result = result;
    s.errors = errors;
    Write("/var/lib/gpuhost/state.json", result::StateToJson(s).dump());
    Write(result::kRunMarkerPath,
          result::ToJson(result::RunMarker{boot, s.run_id, 1, "2026-12-01T06:00:00Z"}).dump());
  }
  std::string Bless(int* status) {
    return RunCommand("'" + AgentBinary() + "' bless --root '" + dir_.path() + "' 2>&1", status);
  }
  std::vector<boot::Verdict> Verdicts() {
    return boot::ReadVerdicts(fs_, "/var/lib/gpuhost").value_or({});
  }
  TempDir dir_;
  RootFs fs_{dir_.path()};
};

TEST_F(BlessCliTest, HealthyRunOfThisBootIsBlessedAndRecorded) {
  Run(kBoot, "ok");
  int status = -1;
  std::string out = Bless(&status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_NE(out.find("version 3 is good: ok"), std::string::npos) << out;
  auto v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_TRUE(v[0].blessed);
  EXPECT_EQ(v[0].version, "3");
  EXPECT_EQ(v[0].uki, "gpuhost-kvm-host_3+2-1.efi");
  EXPECT_EQ(v[0].boot_id, kBoot);
}

TEST_F(BlessCliTest, FailedRunIsRefusedWithItsReason) {
  Run(kBoot, "failed", {{"policy", "policy.json: not valid JSON"}});
  int status = -1;
  std::string out = Bless(&status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("version 3 is not blessed: failed: policy: policy.json: not valid JSON"),
            std::string::npos)
      << out;
  auto v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_FALSE(v[0].blessed);
  EXPECT_EQ(v[0].reason, "failed: policy: policy.json: not valid JSON");
}

// A result the last boot left proves nothing about this one.
TEST_F(BlessCliTest, AnotherBootsResultIsRefused) {
  Run("a1d3b007-0000-4000-8000-00000000000a", "ok");
  // /run is a tmpfs: no marker survives into this boot.
  ASSERT_EQ(std::remove((dir_.path() + result::kRunMarkerPath).c_str()), 0);
  int status = -1;
  std::string out = Bless(&status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("not blessed: stale: "), std::string::npos) << out;
}

// The agent's unit was killed or timed out: its marker names a run that
// wrote no result.
TEST_F(BlessCliTest, UnfinishedRunIsRefused) {
  Run(kBoot, "ok");
  Write(result::kRunMarkerPath,
        result::ToJson(result::RunMarker{kBoot, "later-run", 2, "2026-12-01T06:01:00Z"}).dump());
  int status = -1;
  std::string out = Bless(&status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("not blessed: unfinished: "), std::string::npos) << out;
}

TEST_F(BlessCliTest, NoResultIsRefused) {
  int status = -1;
  std::string out = Bless(&status);
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("not blessed: no state yet"), std::string::npos) << out;
  EXPECT_EQ(Verdicts().size(), 1u);
}

}  // namespace
}  // namespace gpuhost::testing
