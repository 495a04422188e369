#include "base/dir_watch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <functional>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost {
namespace {

using testing::TempDir;

TEST(DirWatchTest, SaysChangedOnlyAfterAChange) {
  TempDir dir;
  DirWatch watch({dir.path()});
  ASSERT_TRUE(watch.watching_all());
  EXPECT_TRUE(watch.MaybeChanged());  // the first call: nothing known yet
  EXPECT_FALSE(watch.MaybeChanged());
  EXPECT_FALSE(watch.MaybeChanged());

  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/state.json", "{}\n").ok());  // a rename
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_FALSE(watch.MaybeChanged());
}

TEST(DirWatchTest, EveryKindOfChangeCounts) {
  TempDir dir;
  std::string f = dir.path() + "/f";
  ASSERT_TRUE(WriteFileAtomic(f, "x").ok());
  DirWatch watch({dir.path()});
  EXPECT_TRUE(watch.MaybeChanged());

  struct Case {
    const char* what;
    std::function<void()> change;
  };
  const Case cases[] = {
      {"write in place",
       [&] {
         int fd = open(f.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
         ASSERT_GE(fd, 0);
         ASSERT_EQ(write(fd, "y", 1), 1);
         close(fd);
       }},
      {"chmod", [&] { ASSERT_EQ(chmod(f.c_str(), 0600), 0); }},
      {"utimes", [&] { ASSERT_EQ(utimensat(AT_FDCWD, f.c_str(), nullptr, 0), 0); }},
      {"unlink", [&] { ASSERT_EQ(unlink(f.c_str()), 0); }},
      {"create", [&] { ASSERT_TRUE(WriteFileAtomic(f, "z").ok()); }},
      {"rename away", [&] { ASSERT_EQ(rename(f.c_str(), (dir.path() + "/g").c_str()), 0); }},
  };
  for (const Case& c : cases) {
    c.change();
    EXPECT_TRUE(watch.MaybeChanged()) << c.what;
    EXPECT_FALSE(watch.MaybeChanged()) << c.what;
  }
}

TEST(DirWatchTest, ADirectoryThatAppearsLaterIsWatchedThen) {
  TempDir dir;
  std::string run = dir.path() + "/run";
  DirWatch watch({dir.path(), run});
  EXPECT_FALSE(watch.watching_all());
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_TRUE(watch.MaybeChanged());  // still missing: never "unchanged"

  ASSERT_EQ(mkdir(run.c_str(), 0755), 0);
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_TRUE(watch.watching_all());
  EXPECT_FALSE(watch.MaybeChanged());
  ASSERT_TRUE(WriteFileAtomic(run + "/run-started", "{}").ok());
  EXPECT_TRUE(watch.MaybeChanged());
}

TEST(DirWatchTest, ADirectoryReplacedIsWatchedAgainByItsPath) {
  TempDir dir;
  std::string state = dir.path() + "/state";
  ASSERT_EQ(mkdir(state.c_str(), 0755), 0);
  DirWatch watch({state});
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_FALSE(watch.MaybeChanged());

  // Moved away: the old watch would report the old directory's changes only.
  ASSERT_EQ(rename(state.c_str(), (dir.path() + "/old").c_str()), 0);
  ASSERT_EQ(mkdir(state.c_str(), 0755), 0);
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_TRUE(watch.watching_all());
  EXPECT_FALSE(watch.MaybeChanged());
  ASSERT_TRUE(WriteFileAtomic(state + "/state.json", "{}").ok());
  EXPECT_TRUE(watch.MaybeChanged());  // the new directory's change
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/old/state.json", "{}").ok());
  EXPECT_FALSE(watch.MaybeChanged());  // the old one is not watched any more

  // Removed: never "unchanged" until it is back.
  ASSERT_TRUE(std::filesystem::remove_all(state));
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_TRUE(watch.MaybeChanged());
  ASSERT_EQ(mkdir(state.c_str(), 0755), 0);
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_FALSE(watch.MaybeChanged());
}

TEST(DirWatchTest, APathThatIsNotADirectoryIsNeverWatched) {
  TempDir dir;
  std::string f = dir.path() + "/file";
  ASSERT_TRUE(WriteFileAtomic(f, "x").ok());
  DirWatch watch({f});
  EXPECT_FALSE(watch.watching_all());
  EXPECT_TRUE(watch.MaybeChanged());
  EXPECT_TRUE(watch.MaybeChanged());
}

}  // namespace
}  // namespace gpuhost
