// A --root tree is a jail: its links resolve inside it as under chroot, and
// no read or write of the Fs reaches the host through one of them.
#include <gtest/gtest.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <filesystem>

#include "base/fileio.h"
#include "host/fs.h"
#include "support/test_env.h"

namespace gpuhost {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

// A tree whose etc/modprobe.d is `link`, beside a directory outside it.
struct EscapeTree {
  TempDir tree;
  TempDir outside;
  explicit EscapeTree(const std::string& link) {
    fs::create_directories(tree.path() + "/etc");
    fs::create_symlink(link, tree.path() + "/etc/modprobe.d");
  }
  bool OutsideEmpty() const { return fs::is_empty(outside.path()); }
};

// "../" enough times to climb from TREE/etc to "/", then to `outside`.
std::string Climb(const std::string& outside) {
  std::string up;
  for (int i = 0; i < 16; ++i) up += "../";
  return up + outside.substr(1);
}

TEST(JailTest, AbsoluteLinkOutOfTheTreeIsNotWrittenThrough) {
  EscapeTree t("/will-be-replaced");
  fs::remove(t.tree.path() + "/etc/modprobe.d");
  fs::create_symlink(t.outside.path(), t.tree.path() + "/etc/modprobe.d");
  RootFs root(t.tree.path());
  Status s = root.WriteAtomic("/etc/modprobe.d/gpuhost.conf", "x\n", 0644);
  // Resolved as chroot would: TREE/<outside path>, which does not exist.
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("symbolic link whose target is missing"), std::string::npos)
      << s.ToString();
  EXPECT_TRUE(t.OutsideEmpty()) << "wrote through the link to the host";
  // The same link with its target inside the tree is written there.
  fs::create_directories(t.tree.path() + t.outside.path());
  ASSERT_TRUE(root.WriteAtomic("/etc/modprobe.d/gpuhost.conf", "x\n", 0644).ok());
  EXPECT_TRUE(t.OutsideEmpty());
  EXPECT_EQ(*ReadFileAt(t.tree.path() + t.outside.path() + "/gpuhost.conf"), "x\n");
  EXPECT_EQ(*root.Read("/etc/modprobe.d/gpuhost.conf"), "x\n");
}

TEST(JailTest, RelativeLinkClimbingOutStopsAtTheRoot) {
  TempDir outside;
  EscapeTree t(Climb(outside.path()));
  RootFs root(t.tree.path());
  EXPECT_FALSE(root.WriteAtomic("/etc/modprobe.d/gpuhost.conf", "x\n", 0644).ok());
  EXPECT_FALSE(root.Symlink("/x", "/etc/modprobe.d/link").ok());
  EXPECT_TRUE(fs::is_empty(outside.path()));
  // Reads stop at the root too: a host file is not visible through it.
  ASSERT_TRUE(WriteFileAtomic(outside.path() + "/host.conf", "host\n", 0644).ok());
  EXPECT_FALSE(root.Read("/etc/modprobe.d/host.conf").ok());
  EXPECT_FALSE(root.Exists("/etc/modprobe.d/host.conf"));
  EXPECT_FALSE(root.List("/etc/modprobe.d").ok());
  EXPECT_FALSE(root.Read("/../../../../../../../../" + outside.path() + "/host.conf").ok());
}

TEST(JailTest, AbsoluteLinkInsideTheTreeReadsTheTreesFile) {
  TempDir tree;
  ASSERT_TRUE(WriteFileAtomic(tree.path() + "/etc/alternatives/nvidia.conf", "tree\n", 0644).ok());
  fs::create_directories(tree.path() + "/etc/modprobe.d");
  fs::create_symlink("/etc/alternatives/nvidia.conf", tree.path() + "/etc/modprobe.d/nvidia.conf");
  RootFs root(tree.path());
  EXPECT_EQ(*root.Read("/etc/modprobe.d/nvidia.conf"), "tree\n");
  EXPECT_EQ(*root.ReadLink("/etc/modprobe.d/nvidia.conf"), "/etc/alternatives/nvidia.conf");
  EXPECT_FALSE(root.IsDir("/etc/modprobe.d/nvidia.conf"));
  EXPECT_TRUE(root.IsDir("/etc/modprobe.d"));
  // A write replaces the link by a file; the link's target is left as it was.
  ASSERT_TRUE(root.WriteAtomic("/etc/modprobe.d/nvidia.conf", "new\n", 0644).ok());
  EXPECT_FALSE(fs::is_symlink(tree.path() + "/etc/modprobe.d/nvidia.conf"));
  EXPECT_EQ(*ReadFileAt(tree.path() + "/etc/alternatives/nvidia.conf"), "tree\n");
}

TEST(JailTest, SysfsStyleRelativeLinksStillResolve) {
  TempDir tree;
  std::string dev = "/sys/devices/pci0000:00/0000:00:02.0";
  ASSERT_TRUE(WriteFileAtomic(tree.path() + dev + "/vendor", "0x10de\n", 0644).ok());
  fs::create_directories(tree.path() + "/sys/bus/pci/devices");
  fs::create_symlink("../../../devices/pci0000:00/0000:00:02.0",
                     tree.path() + "/sys/bus/pci/devices/0000:00:02.0");
  RootFs root(tree.path());
  EXPECT_EQ(*root.Read("/sys/bus/pci/devices/0000:00:02.0/vendor"), "0x10de\n");
  EXPECT_TRUE(root.IsDir("/sys/bus/pci/devices/0000:00:02.0"));
  EXPECT_EQ(root.List("/sys/bus/pci/devices/0000:00:02.0")->size(), 1u);
}

TEST(JailTest, TheLiveRootReadsAsBefore) {
  RootFs root("/");
  EXPECT_TRUE(root.Read("/proc/self/status").ok()) << "through the /proc/self link";
  EXPECT_TRUE(root.IsDir("/proc/self/fd"));
  EXPECT_TRUE(root.ReadLink("/proc/self").ok());
}

TEST(JailTest, AMissingRootFailsEveryCall) {
  TempDir dir;
  const std::string missing = dir.path() + "/missing";
  RootFs root(missing);
  EXPECT_FALSE(root.Read("/etc/hostname").ok());
  EXPECT_FALSE(root.Exists("/"));
  Status s = root.WriteAtomic("/x", "y", 0644);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(missing), std::string::npos) << s.ToString();
  EXPECT_FALSE(fs::exists(missing)) << "the root is not created by a write";
}

// A kernel without openat2 (Linux < 5.6), made with a seccomp filter that
// answers ENOSYS: a tree is refused with the reason, never read unconfined;
// "/" is read as before.
TEST(JailTest, WithoutOpenat2ATreeFailsClosedAndTheLiveRootStillWorks) {
  TempDir tree;
  ASSERT_TRUE(WriteFileAtomic(tree.path() + "/etc/hostname", "tree\n", 0644).ok());
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_openat2, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(10);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0) _exit(11);
    RootFs jailed(tree.path());
    auto r = jailed.Read("/etc/hostname");
    if (r.ok()) _exit(1);  // read unconfined
    if (r.status().code() != Status::Code::kUnsupported) _exit(2);
    if (r.status().message().find("openat2") == std::string::npos) _exit(3);
    if (jailed.WriteAtomic("/etc/x", "y", 0644).ok()) _exit(4);
    RootFs live("/");
    if (!live.Read("/proc/self/status").ok()) _exit(5);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 0) << "1: read without openat2; 2, 3: not the reason; 4: wrote; "
                                   "5: the live root broke; 10, 11: seccomp unavailable";
  EXPECT_FALSE(fs::exists(tree.path() + "/etc/x"));
}

}  // namespace
}  // namespace gpuhost
