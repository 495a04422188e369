#include "report/snapshot.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>
#include <vector>

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

// The cache stats the files only when the inotify watch on their directories
// reports something (base/dir_watch.h); these are the ways a watch on the
// directory alone could miss a change.
TEST(SnapshotTest, AStateFileLinkedFromElsewhereIsFollowed) {
  TempDir dir;
  std::string real = dir.path() + "/real", served = dir.path() + "/served";
  ASSERT_EQ(mkdir(real.c_str(), 0755), 0);
  ASSERT_EQ(mkdir(served.c_str(), 0755), 0);
  WriteState(real, H200State());
  ASSERT_EQ(symlink((real + "/state.json").c_str(), (served + "/state.json").c_str()), 0);
  report::SnapshotCache cache(served + "/state.json", "h200", {"0.1.0", "3.0.19"});
  EXPECT_EQ(cache.Current()->health.status, "degraded");

  auto ok = H200State();
  ok.result = "ok";
  ok.warnings.clear();
  WriteState(real, ok);  // only the link's target changes, in a directory not watched
  EXPECT_EQ(cache.Current()->healthz, "ok\n");
}

TEST(SnapshotTest, AReplacedStateDirectoryIsRead) {
  TempDir dir;
  std::string state_dir = dir.path() + "/gpuhost";
  WriteState(state_dir, H200State());
  report::SnapshotCache cache(state_dir + "/state.json", "h200", {"0.1.0", "3.0.19"});
  EXPECT_EQ(cache.Current()->health.status, "degraded");
  EXPECT_EQ(cache.Current()->health.status, "degraded");

  ASSERT_EQ(rename(state_dir.c_str(), (dir.path() + "/old").c_str()), 0);
  auto ok = H200State();
  ok.result = "ok";
  ok.warnings.clear();
  WriteState(state_dir, ok);
  EXPECT_EQ(cache.Current()->healthz, "ok\n");
  // The directory moved away is not what serve reads any more.
  WriteState(dir.path() + "/old", H200State());
  EXPECT_EQ(cache.Current()->healthz, "ok\n");
}

// Readers on other threads consume the watch's events and install what they
// stat()ed, in any order: a request made after a write must still see it.
TEST(SnapshotTest, EveryWriteIsSeenByTheNextRequestWhileOthersRead) {
  TempDir dir;
  report::SnapshotCache cache(dir.path() + "/state.json", "h200", {"0.1.0", "3.0.19"});
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  for (int i = 0; i < 3; ++i) {
    readers.emplace_back([&] {
      while (!stop.load()) cache.Current();
    });
  }
  auto s = H200State();
  s.warnings.clear();
  for (int i = 0; i < 100; ++i) {
    s.result = i % 2 ? "ok" : "failed";
    s.errors.clear();
    if (i % 2 == 0) s.errors.push_back({"apply", "round " + std::to_string(i)});
    // Written beside and renamed over, with nothing after the rename (the
    // agent fsyncs the directory then, which gives readers time to catch up).
    std::string tmp = dir.path() + "/state.json.tmp";
    ASSERT_TRUE(WriteFileAtomic(tmp, result::StateToJson(s).dump(2) + "\n").ok());
    ASSERT_EQ(rename(tmp.c_str(), (dir.path() + "/state.json").c_str()), 0);
    std::string want = i % 2 ? "ok\n" : "failed: apply: round " + std::to_string(i) + "\n";
    for (int call = 0; call < 3; ++call) {  // and every request after it
      ASSERT_EQ(cache.Current()->healthz, want) << "write " << i << ", call " << call;
    }
  }
  stop = true;
  for (auto& t : readers) t.join();
}

}  // namespace
}  // namespace gpuhost::testing
