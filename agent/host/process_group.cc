#include "host/process_group.h"

#include <signal.h>
#include <sys/wait.h>

#include <cerrno>
#include <thread>

namespace gpuhost {
namespace {

using Clock = std::chrono::steady_clock;

// True once the leader has exited (it stays a zombie: not reaped yet).
bool Exited(pid_t pid) {
  siginfo_t info{};
  if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno != EINTR;  // ECHILD: nothing to wait for
  }
  return info.si_pid == pid;
}

// Polls until the leader exits or `until` passes; true when it exited.
bool WaitExited(pid_t pid, Clock::time_point until) {
  auto step = std::chrono::milliseconds(1);
  while (!Exited(pid)) {
    if (Clock::now() >= until) return false;
    std::this_thread::sleep_for(step);
    if (step < std::chrono::milliseconds(20)) step *= 2;
  }
  return true;
}

void Reap(pid_t pid, GroupWait* w) {
  while (true) {
    pid_t r = waitpid(pid, &w->status, 0);
    if (r == pid) {
      w->reaped = true;
      return;
    }
    if (r < 0 && errno != EINTR) return;
  }
}

}  // namespace

GroupWait WaitOrKillGroup(pid_t pid, Clock::time_point deadline, std::chrono::milliseconds grace) {
  GroupWait w;
  if (!WaitExited(pid, deadline)) {
    w.timed_out = true;
    kill(-pid, SIGTERM);
    if (!WaitExited(pid, Clock::now() + grace)) {
      kill(-pid, SIGKILL);
      if (!WaitExited(pid, Clock::now() + grace)) return w;  // abandoned
    }
  }
  // Children the leader left behind (a daemon, a backgrounded job) go too.
  kill(-pid, SIGKILL);
  Reap(pid, &w);
  return w;
}

}  // namespace gpuhost
