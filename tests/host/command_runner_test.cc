// Commands and module loads the agent starts cannot outlive their deadline:
// the whole process group goes, grandchildren that ignore SIGTERM included.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "base/fileio.h"
#include "base/strings.h"
#include "host/child_module_loader.h"
#include "host/commands.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using Clock = std::chrono::steady_clock;

// Dead: gone, or a zombie waiting for init to reap it.
bool Dead(pid_t pid) {
  for (int i = 0; i < 100; ++i) {
    if (kill(pid, 0) != 0) return true;
    auto stat = ReadFileAt("/proc/" + std::to_string(pid) + "/stat");
    if (stat.ok()) {
      size_t paren = stat->rfind(')');
      if (paren != std::string::npos && stat->substr(paren + 2, 1) == "Z") return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

pid_t PidIn(const std::string& file) {
  for (int i = 0; i < 200; ++i) {
    auto text = ReadFileAt(file);
    if (text.ok() && !Trim(*text).empty()) return static_cast<pid_t>(std::atoi(text->c_str()));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return -1;
}

// A shell starts a grandchild that ignores SIGTERM and sleeps for ever,
// writes the grandchild's pid, and waits.
std::vector<std::string> Stubborn(const std::string& pidfile) {
  return {"/bin/sh", "-c",
          "/bin/sh -c 'trap \"\" TERM; echo $$ > " + pidfile + "; exec sleep 1000' & wait"};
}

TEST(CommandRunnerTest, DeadlineKillsTheWholeGroupAndNamesTheCommand) {
  TempDir dir;
  std::string pidfile = dir.path() + "/grandchild";
  RealCommandRunner runner(/*grace_ms=*/200);
  auto start = Clock::now();
  Status s = runner.Run(Stubborn(pidfile), 500);
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_TRUE(s.IsTimeout()) << s.ToString();
  EXPECT_NE(s.message().find("/bin/sh did not finish within its deadline of 500 ms"),
            std::string::npos)
      << s.message();
  EXPECT_LT(took.count(), 2000);
  pid_t grandchild = PidIn(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(Dead(grandchild)) << "grandchild " << grandchild << " outlived the deadline";
  if (!Dead(grandchild)) kill(grandchild, SIGKILL);
}

TEST(CommandRunnerTest, ChildrenLeftBehindByAFinishedCommandGoToo) {
  TempDir dir;
  std::string pidfile = dir.path() + "/daemon";
  RealCommandRunner runner(200);
  Status s = runner.Run(
      {"/bin/sh", "-c",
       "/bin/sh -c 'trap \"\" TERM; echo $$ > " + pidfile + "; exec sleep 1000' & sleep 0.2"},
      5000);
  EXPECT_TRUE(s.ok()) << s.ToString();
  pid_t left = PidIn(pidfile);
  ASSERT_GT(left, 0);
  EXPECT_TRUE(Dead(left));
  if (!Dead(left)) kill(left, SIGKILL);
}

TEST(CommandRunnerTest, RunsInItsOwnProcessGroup) {
  TempDir dir;
  std::string out = dir.path() + "/stat";
  RealCommandRunner runner;
  ASSERT_TRUE(runner.Run({"/bin/sh", "-c", "cat /proc/$$/stat > " + out}, 5000).ok());
  auto stat = ReadFileAt(out);
  ASSERT_OK(stat);
  // pid (comm) state ppid pgrp ...
  auto fields = Split(stat->substr(stat->rfind(')') + 2), ' ');
  std::string pid = stat->substr(0, stat->find(' '));
  ASSERT_GE(fields.size(), 3u);
  EXPECT_EQ(fields[2], pid) << "process group " << fields[2] << " of pid " << pid;
}

TEST(CommandRunnerTest, EnvironmentIsMinimal) {
  setenv("GPUHOST_LEAK_TEST", "leaked", 1);
  TempDir dir;
  std::string file = dir.path() + "/env";
  // env's stdout is ours: point it at a file for the call.
  int saved = dup(1);
  int fd = open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0);
  std::fflush(stdout);
  dup2(fd, 1);
  close(fd);
  Status s = RealCommandRunner().Run({"/usr/bin/env"}, 5000);
  dup2(saved, 1);
  close(saved);
  unsetenv("GPUHOST_LEAK_TEST");
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(*ReadFileAt(file), "PATH=/usr/sbin:/usr/bin:/sbin:/bin\nLANG=C.UTF-8\n");
}

TEST(CommandRunnerTest, RelativeProgramNamesAreRefused) {
  TempDir dir;
  std::string marker = dir.path() + "/ran";
  RealCommandRunner runner;
  Status s = runner.Run({"sh", "-c", "touch " + marker}, 5000);
  EXPECT_TRUE(s.IsInvalid()) << s.ToString();
  EXPECT_NE(s.message().find("'sh': not an absolute path"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(marker)) << "a relative name was looked up in PATH";
  EXPECT_TRUE(runner.Run({"./update-grub"}, 5000).IsInvalid());
}

TEST(CommandRunnerTest, ExitStatusAndMissingProgram) {
  RealCommandRunner runner;
  Status s = runner.Run({"/bin/sh", "-c", "exit 3"}, 5000);
  EXPECT_EQ(s.message(), "/bin/sh failed with exit status 3");
  EXPECT_TRUE(runner.Run({"/nonexistent/update-grub"}, 5000).IsNotFound());
}

// Module loads (host/child_module_loader.h).

class FakeLoader : public ModuleLoader {
 public:
  explicit FakeLoader(std::function<Status()> fn) : fn_(std::move(fn)) {}
  Status Load(const std::string&, const std::string&) override { return fn_(); }

 private:
  std::function<Status()> fn_;
};

TEST(ChildModuleLoaderTest, AHangingLoadIsAbandonedAtItsDeadline) {
  FakeLoader hangs([] {
    for (;;) pause();
    return Status::Ok();
  });
  ChildModuleLoader loader(hangs, 300, 100);
  auto start = Clock::now();
  Status s = loader.Load("nvidia", "");
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
  EXPECT_TRUE(s.IsTimeout()) << s.ToString();
  EXPECT_EQ(s.message(),
            "load module nvidia: did not finish within its deadline of 300 ms; stopped");
  EXPECT_LT(took.count(), 1500);
}

TEST(ChildModuleLoaderTest, AnInstallCommandLeftRunningIsKilledWithIt) {
  // As Debian's `install` lines run a shell: a grandchild ignoring SIGTERM.
  TempDir dir;
  std::string pidfile = dir.path() + "/install";
  FakeLoader installs([&] {
    // libkmod's RunInstall (host/kmod_loader.cc) uses system(3) the same way.
    int st = std::system(Stubborn(pidfile)[2].c_str());
    return st == 0 ? Status::Ok() : Status::Io("install command failed");
  });
  ChildModuleLoader loader(installs, 500, 100);
  EXPECT_TRUE(loader.Load("nvidia", "").IsTimeout());
  pid_t grandchild = PidIn(pidfile);
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(Dead(grandchild));
  if (!Dead(grandchild)) kill(grandchild, SIGKILL);
}

TEST(ChildModuleLoaderTest, PassesTheLoadersAnswerThrough) {
  FakeLoader missing([] { return Status::NotFound("module gh is not installed"); });
  Status s = ChildModuleLoader(missing, 5000).Load("gh", "");
  EXPECT_TRUE(s.IsNotFound());
  EXPECT_EQ(s.message(), "module gh is not installed");
  FakeLoader fine([] { return Status::Ok(); });
  EXPECT_TRUE(ChildModuleLoader(fine, 5000).Load("gh", "").ok());
}

}  // namespace
}  // namespace gpuhost::testing
