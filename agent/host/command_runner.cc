#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "host/commands.h"

namespace gpuhost {

Status RealCommandRunner::Run(const std::vector<std::string>& argv, int timeout_ms) {
  if (argv.empty()) return Status::Invalid("empty command");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid < 0) return Status::FromErrno("fork", errno);
  if (pid == 0) {
    int null = open("/dev/null", O_RDONLY);
    if (null >= 0) dup2(null, 0);
    execvp(args[0], args.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  while (true) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Status::FromErrno("waitpid " + argv[0], errno);
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return Status::Timeout(argv[0] + " did not finish within " + std::to_string(timeout_ms) +
                             " ms; killed");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return Status::Ok();
  if (WIFEXITED(st) && WEXITSTATUS(st) == 127) return Status::NotFound(argv[0] + ": not found");
  return Status::Io(argv[0] + " failed with " +
                    (WIFEXITED(st) ? "exit status " + std::to_string(WEXITSTATUS(st))
                                   : "signal " + std::to_string(WTERMSIG(st))));
}

}  // namespace gpuhost
