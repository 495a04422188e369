#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "host/commands.h"
#include "host/process_group.h"

namespace gpuhost {
namespace {

// posix_spawn's attributes, released on every path.
class SpawnAttrs {
 public:
  SpawnAttrs() {
    posix_spawnattr_init(&attr_);
    posix_spawn_file_actions_init(&files_);
  }
  ~SpawnAttrs() {
    posix_spawn_file_actions_destroy(&files_);
    posix_spawnattr_destroy(&attr_);
  }
  SpawnAttrs(const SpawnAttrs&) = delete;
  SpawnAttrs& operator=(const SpawnAttrs&) = delete;

  // Own process group (so the deadline can stop it and every child it
  // starts), no blocked signals and default dispositions for the ones a
  // caller may block or ignore (serve blocks SIGTERM, ignores SIGPIPE), and
  // stdin from /dev/null.
  void Configure() {
    posix_spawnattr_setpgroup(&attr_, 0);
    sigset_t none, defaults;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr_, &none);
    sigemptyset(&defaults);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setsigdefault(&attr_, &defaults);
    posix_spawnattr_setflags(
        &attr_, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    posix_spawn_file_actions_addopen(&files_, 0, "/dev/null", O_RDONLY, 0);
  }
  const posix_spawnattr_t* attr() const { return &attr_; }
  const posix_spawn_file_actions_t* files() const { return &files_; }

 private:
  posix_spawnattr_t attr_;
  posix_spawn_file_actions_t files_;
};

std::string Seconds(int ms) {
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

Status RealCommandRunner::Run(const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty()) return Status::Invalid("empty command");
  const std::string& cmd = argv[0];
  if (cmd.empty() || cmd[0] != '/') {
    return Status::Invalid("command '" + cmd + "': not an absolute path (no PATH lookup)");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> env;
  for (const char* e : kCommandEnvironment) env.push_back(const_cast<char*>(e));
  env.push_back(nullptr);
  SpawnAttrs spawn;
  spawn.Configure();
  auto now = std::chrono::steady_clock::now();
  auto deadline = std::min(now + std::chrono::milliseconds(timeout_ms), run_deadline_);
  timeout_ms = static_cast<int>(std::max<int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()));
  pid_t pid = -1;
  int err = posix_spawn(&pid, cmd.c_str(), spawn.files(), spawn.attr(), args.data(), env.data());
  if (err == ENOENT) return Status::NotFound(cmd + ": not found");
  if (err != 0) return Status::FromErrno("start " + cmd, err);
  GroupWait w = WaitOrKillGroup(pid, deadline, std::chrono::milliseconds(grace_ms_));
  if (w.timed_out) {
    return Status::Timeout(cmd + " did not finish within its deadline of " + Seconds(timeout_ms) +
                           "; its process group was killed" +
                           (w.reaped ? "" : " (still stuck in the kernel; abandoned)"));
  }
  if (!w.reaped) return Status::Io("wait for " + cmd + ": lost the child");
  int st = w.status;
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::Ok();
  return Status::Io(cmd + " failed with " +
                    (WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                                   : "signal " + std::to_string(WTERMSIG(st))));
}

}  // namespace gpuhost
