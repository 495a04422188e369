#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <stdexcept>

#include "base/fileio.h"
#include "run/agent_run.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::run {
namespace {

using testing::TempDir;

struct Tree {
  TempDir dir;
  RunOptions opts;
  Tree() {
    opts.root = dir.path();
    opts.state_dir = "/var/lib/gpuhost";
    testing::SysfsBuilder(dir.path()).Write("/var/lib/gpuhost/state.json", R"({"result": "ok"})");
  }
  nlohmann::json State() const {
    return nlohmann::json::parse(*ReadFileAt(dir.path() + "/var/lib/gpuhost/state.json"));
  }
};

TEST(FailClosedTest, AnExceptionReplacesThePreviousResultWithAFailedOne) {
  Tree t;
  int status = FailClosed(t.opts, {}, []() -> int { throw std::runtime_error("boom"); });
  EXPECT_EQ(status, 1);
  auto st = t.State();
  EXPECT_EQ(st["result"], "failed");
  ASSERT_EQ(st["errors"].size(), 1u);
  EXPECT_EQ(st["errors"][0]["where"], "agent");
  EXPECT_EQ(st["errors"][0]["message"], "internal error: boom");
}

TEST(FailClosedTest, AnyThrownValueAndAnyBytesStillGiveAFailedResult) {
  Tree t;
  EXPECT_EQ(FailClosed(t.opts, {}, []() -> int { throw 42; }), 1);
  EXPECT_EQ(t.State()["result"], "failed");
  // A message that is not UTF-8 (from sysfs, a policy) must not make the
  // result file's dump() throw a second time.
  EXPECT_EQ(FailClosed(t.opts, {}, []() -> int { throw std::runtime_error("bad \xff byte"); }), 1);
  EXPECT_EQ(t.State()["errors"][0]["message"], "internal error: bad \\xff byte");
}

TEST(FailClosedTest, NoExceptionPassesTheStatusThroughAndADryRunWritesNothing) {
  Tree t;
  EXPECT_EQ(FailClosed(t.opts, {}, [] { return 0; }), 0);
  EXPECT_EQ(FailClosed(t.opts, {}, [] { return 2; }), 2);
  EXPECT_EQ(t.State()["result"], "ok");
  t.opts.dry_run = true;
  EXPECT_EQ(FailClosed(t.opts, {}, []() -> int { throw std::runtime_error("boom"); }), 1);
  EXPECT_EQ(t.State()["result"], "ok");
}

}  // namespace
}  // namespace gpuhost::run
