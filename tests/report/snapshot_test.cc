#include "report/snapshot.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/fileio.h"
#include "report/state_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(SnapshotTest, RendersOncePerVersionOfTheFile) {
  TempDir dir;
  report::SnapshotCache cache(dir.path() + "/state.json", "h200", {"0.1.0", "3.0.19"});
  auto missing = cache.Current();
  EXPECT_EQ(missing->health.status, "no-state");
  EXPECT_EQ(missing->healthz, "no state yet: the agent has not finished a run\n");
  EXPECT_EQ(cache.Current(), missing);  // same object: nothing re-read
  EXPECT_EQ(cache.loads(), 1);

  WriteState(dir.path(), H200State());
  auto loaded = cache.Current();
  EXPECT_EQ(loaded->health.status, "degraded");
  EXPECT_EQ(cache.Current(), loaded);
  EXPECT_EQ(cache.loads(), 2);

  auto ok = H200State();
  ok.result = "ok";
  ok.warnings.clear();
  WriteState(dir.path(), ok);
  EXPECT_EQ(cache.Current()->healthz, "ok\n");
  EXPECT_EQ(cache.loads(), 3);
}

TEST(SnapshotTest, InvalidFilesAreNamedAndNeverEchoedRaw) {
  TempDir dir;
  std::string path = dir.path() + "/state.json";
  report::SnapshotCache cache(path, "h200", {"0.1.0", "3.0.19"});
  ASSERT_TRUE(WriteFileAtomic(path, "{\"schema_version\": 1,\n<script>").ok());
  auto s = cache.Current();
  EXPECT_EQ(s->health.http_status, 503);
  EXPECT_EQ(s->healthz, "invalid-state: " + path + ": not valid JSON\n");

  ASSERT_TRUE(WriteFileAtomic(path, "{\"schema_version\": 7}").ok());
  EXPECT_NE(cache.Current()->healthz.find("unsupported schema_version"), std::string::npos);

  auto bad = H200State();
  bad.errors.push_back({"apply", "line one\r\nInjected: header"});
  bad.result = "failed";
  WriteState(dir.path(), bad);
  EXPECT_EQ(cache.Current()->healthz, "failed: apply: line one  Injected: header\n");
}

TEST(SnapshotTest, UnreadableFileIsNamed) {
  if (geteuid() == 0) {
    // root reads a mode 000 file; a directory in the way fails for root too.
    TempDir dir;
    std::string path = dir.path() + "/state.json";
    ASSERT_EQ(mkdir(path.c_str(), 0755), 0);
    report::SnapshotCache cache(path, "h200", {"0.1.0", "3.0.19"});
    auto s = cache.Current();
    EXPECT_EQ(s->health.status, "invalid-state");
    EXPECT_NE(s->healthz.find(path), std::string::npos) << s->healthz;
    return;
  }
  TempDir dir;
  WriteState(dir.path(), H200State());
  std::string path = dir.path() + "/state.json";
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  report::SnapshotCache cache(path, "h200", {"0.1.0", "3.0.19"});
  auto s = cache.Current();
  EXPECT_EQ(s->health.status, "invalid-state");
  EXPECT_NE(s->healthz.find(path), std::string::npos) << s->healthz;
}

}  // namespace
}  // namespace gpuhost::testing
