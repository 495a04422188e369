// Whole agent runs on a fixture tree (RunAgent with a FakeKernelFs): the
// run marker and the result's boot, a run killed after its marker, and a
// module load that never returns.
#include "run/agent_run.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fileio.h"
#include "plan/plan_fixtures.h"
#include "report/snapshot.h"
#include "result/run_marker.h"
#include "support/fake_kernel_fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

constexpr const char* kBoot = "5eed0b07-1111-4222-8333-444455556666";

// A fixture GPU server that knows its boot id.
void BuildMachine(const std::string& root) {
  BuildGpuServer(root);
  SysfsBuilder(root).Write(result::kBootIdPath, std::string(kBoot) + "\n");
}

run::RunOptions Options(const std::string& root) {
  run::RunOptions o;
  o.root = root;
  o.module_timeout_ms = 400;
  return o;
}

// RunAgent in a child process (so a run that dies or hangs cannot take the
// test with it); its exit status, or -1 when it was still running after
// `limit` and was killed.
int RunInChild(const std::function<int()>& run, std::chrono::seconds limit) {
  pid_t pid = fork();
  if (pid == 0) _exit(run());
  auto until = std::chrono::steady_clock::now() + limit;
  int st = 0;
  while (waitpid(pid, &st, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > until) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

std::shared_ptr<const report::Snapshot> Serve(const std::string& root) {
  report::SnapshotCache cache(root + "/var/lib/gpuhost/state.json", "h", {"0.1.0", "0.11.4"},
                              nullptr, nullptr, root);
  return cache.Current();
}

nlohmann::json StateOf(const std::string& root) {
  auto text = ReadFileAt(root + "/var/lib/gpuhost/state.json");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  return nlohmann::json::parse(text.ok() ? *text : "{}");
}

TEST(AgentRunTest, RecordsBootAndRunInTheMarkerAndTheResult) {
  TempDir dir;
  BuildMachine(dir.path());
  FakeKernelFs fs(dir.path());
  EXPECT_EQ(run::RunAgent(Options(dir.path()), {.fs = &fs}), 0);
  ASSERT_FALSE(fs.log().empty());
  EXPECT_EQ(fs.log().front(), std::string("write ") + result::kRunMarkerPath)
      << "the marker comes before any change";
  auto marker = result::ReadRunMarker(fs);
  ASSERT_OK(marker);
  EXPECT_EQ(marker->boot_id, kBoot);
  EXPECT_EQ(marker->pid, getpid());
  auto state = StateOf(dir.path());
  EXPECT_EQ(state["boot_id"], kBoot);
  EXPECT_EQ(state["run_id"], marker->run_id);
  EXPECT_EQ(Serve(dir.path())->health.http_status, 200) << Serve(dir.path())->healthz;
}

TEST(AgentRunTest, KilledAfterItsMarkerServeSays503UntilARunFinishes) {
  TempDir dir;
  BuildMachine(dir.path());
  ASSERT_EQ(RunInChild(
                [&] {
                  FakeKernelFs fs(dir.path());
                  return run::RunAgent(Options(dir.path()), {.fs = &fs});
                },
                std::chrono::seconds(60)),
            0);
  EXPECT_EQ(Serve(dir.path())->health.http_status, 200);
  // The next run dies at its second change: the marker is written, the
  // result is the first run's.
  ASSERT_EQ(RunInChild(
                [&] {
                  FakeKernelFs fs(dir.path());
                  fs.set_die_at(2);
                  return run::RunAgent(Options(dir.path()), {.fs = &fs});
                },
                std::chrono::seconds(60)),
            99);
  auto killed = Serve(dir.path());
  EXPECT_EQ(killed->health.http_status, 503);
  EXPECT_EQ(killed->health.status, "unfinished");
  EXPECT_NE(killed->healthz.find(") never finished"), std::string::npos) << killed->healthz;
  // A run that finishes makes it current again.
  FakeKernelFs fs(dir.path());
  EXPECT_EQ(run::RunAgent(Options(dir.path()), {.fs = &fs}), 0);
  EXPECT_EQ(Serve(dir.path())->health.http_status, 200) << Serve(dir.path())->healthz;
}

// A module load that never returns (a driver probe waiting on hardware).
class HangingLoader : public ModuleLoader {
 public:
  Status Load(const std::string&, const std::string&) override {
    for (;;) pause();
  }
};

TEST(AgentRunTest, AHangingModuleLoadIsAbandonedAndTheRunWritesItsResult) {
  TempDir dir;
  BuildMachine(dir.path());
  auto start = std::chrono::steady_clock::now();
  int code = RunInChild(
      [&] {
        FakeKernelFs fs(dir.path());
        HangingLoader hanging;
        return run::RunAgent(Options(dir.path()), {.fs = &fs, .modules = &hanging});
      },
      std::chrono::seconds(30));
  ASSERT_NE(code, -1) << "the run hung on a module load";
  EXPECT_EQ(code, 1);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("run with hanging module loads took %.2f s\n", secs);
  auto state = StateOf(dir.path());
  EXPECT_EQ(state["result"], "failed");
  int timed_out = 0;
  for (const auto& a : state["actions"]) {
    if (a["kind"] != "load-module" || a["outcome"] == "unchanged") continue;
    EXPECT_EQ(a["outcome"], "failed") << a.dump();
    std::string msg = a["message"];
    EXPECT_NE(msg.find("load module " + a["target"].get<std::string>() +
                       ": did not finish within its deadline of 400 ms"),
              std::string::npos)
        << msg;
    ++timed_out;
  }
  EXPECT_GT(timed_out, 0);
  EXPECT_EQ(Serve(dir.path())->health.http_status, 503);
}

}  // namespace
}  // namespace gpuhost::testing
