#include "report/agent_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

long StatusField(pid_t pid, const std::string& field, const char* file = "status") {
  std::ifstream f("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  }
  return -1;
}

}  // namespace

ServeProcess::ServeProcess(const std::string& state_dir, std::vector<std::string> extra_args,
                           std::vector<std::string> env, bool listen_arg) {
  std::vector<std::string> args = {AgentBinary(), "serve", "--state-dir", state_dir};
  if (listen_arg) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  args.insert(args.end(), extra_args.begin(), extra_args.end());
  // Everything exec needs is built before fork: the child only dup2s and execs.
  for (char** e = environ; *e != nullptr; ++e) env.push_back(*e);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlives a crashed test (ctest's pipe)
    dup2(pipefd[1], 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(pipefd[1]);
  // "gpuhost-agent serve: listening on 127.0.0.1:0 (port 41234)"
  std::string err;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (err.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{pipefd[0], POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[512];
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n <= 0) break;
    err.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);  // later writes to stderr fail quietly (EPIPE is ignored)
  size_t at = err.find("(port ");
  if (at != std::string::npos) port_ = std::atoi(err.c_str() + at + 6);
  // A fixed port is not repeated: "listening on 127.0.0.1:41234" (or 0.0.0.0:...).
  for (const std::string on : {"listening on 127.0.0.1:", "listening on 0.0.0.0:"}) {
    if (at = err.find(on); port_ == 0 && at != std::string::npos) {
      port_ = std::atoi(err.c_str() + at + on.size());
    }
  }
  if (port_ == 0) ADD_FAILURE() << "serve did not start: " << err;
}

ServeProcess::~ServeProcess() { Stop(); }

bool ServeProcess::Running() {
  if (pid_ <= 0 || status_ >= 0) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == 0) return true;
  status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return false;
}

long ServeProcess::RssKib() const { return StatusField(pid_, "VmRSS"); }
long ServeProcess::PeakRssKib() const { return StatusField(pid_, "VmHWM"); }
long ServeProcess::AnonymousKib() const { return StatusField(pid_, "Anonymous", "smaps_rollup"); }

int ServeProcess::Stop() {
  if (pid_ <= 0) return -1;
  if (status_ < 0) {
    kill(pid_, SIGTERM);
    int st = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return status_;
      }
      usleep(50000);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &st, 0);
    status_ = 128 + SIGKILL;
  }
  return status_;
}

}  // namespace gpuhost::testing
