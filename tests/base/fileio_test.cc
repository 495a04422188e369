#include "base/fileio.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>

#include "support/test_env.h"

namespace gpuhost {
namespace {

using testing::TempDir;

TEST(FileIoTest, AtomicWriteCreatesParentsAndReadsBack) {
  TempDir dir;
  std::string path = dir.path() + "/a/b/state.json";
  ASSERT_TRUE(WriteFileAtomic(path, "{}\n", 0640).ok());
  auto r = ReadFileAt(path);
  ASSERT_OK(r);
  EXPECT_EQ(*r, "{}\n");
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_FALSE(std::filesystem::exists(path + ".gpuhost-tmp"));
}

TEST(FileIoTest, UnchangedContentIsNotRewritten) {
  TempDir dir;
  std::string path = dir.path() + "/f";
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0644).ok());
  struct stat before, after;
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  ASSERT_TRUE(WriteFileAtomic(path, "x", 0644).ok());
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  // Same inode: no temp file was renamed over it.
  EXPECT_EQ(before.st_ino, after.st_ino);
  ASSERT_TRUE(WriteFileAtomic(path, "y", 0644).ok());
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_NE(before.st_ino, after.st_ino);
}

TEST(FileIoTest, StaleTemporaryFromKilledRunIsReplaced) {
  TempDir dir;
  std::string path = dir.path() + "/f";
  ASSERT_TRUE(WriteFileAtomic(path + ".gpuhost-tmp", "torn half of a fil", 0644).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "whole", 0644).ok());
  EXPECT_EQ(*ReadFileAt(path), "whole");
  EXPECT_FALSE(std::filesystem::exists(path + ".gpuhost-tmp"));
}

TEST(FileIoTest, ErrorsNameThePath) {
  TempDir dir;
  auto r = ReadFileAt(dir.path() + "/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().IsNotFound());
  EXPECT_NE(r.status().message().find(dir.path() + "/missing"), std::string::npos);
  // A parent that is a file cannot hold a directory.
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/file", "x", 0644).ok());
  Status s = WriteFileAtomic(dir.path() + "/file/sub/x", "y", 0644);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(dir.path() + "/file"), std::string::npos);
}

TEST(FileIoTest, VirtualFileSkipsSameValue) {
  TempDir dir;
  std::string path = dir.path() + "/driver_override";
  ASSERT_TRUE(WriteFileAtomic(path, "vfio-pci\n", 0644).ok());
  struct timespec old_times[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), old_times, 0), 0);
  ASSERT_TRUE(WriteVirtualFile(path, "vfio-pci", true).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1000) << "a same-value write must not touch the attribute";
  ASSERT_TRUE(WriteVirtualFile(path, "vfio-pci", false).ok());
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_NE(st.st_mtim.tv_sec, 1000);
  Status missing = WriteVirtualFile(dir.path() + "/absent", "x", false);
  EXPECT_TRUE(missing.IsNotFound()) << missing.ToString();
}

}  // namespace
}  // namespace gpuhost
