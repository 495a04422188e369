// Waiting for a child that leads its own process group, with a deadline
// after which the whole group is stopped: SIGTERM to -pgid, a short grace,
// SIGKILL to -pgid. So nothing the agent starts (update-grub and the
// scripts it runs, a module's install command) outlives its deadline.
#pragma once

#include <sys/types.h>

#include <chrono>

namespace gpuhost {

struct GroupWait {
  bool timed_out = false;  // the deadline passed; the group was killed
  bool reaped = false;     // the leader's exit status is in `status`
  int status = 0;          // as waitpid() gives it
};

// Waits for `pid`, the leader of process group `pid`, until `deadline`.
// However the leader ends, what is left of its group is killed before the
// leader is reaped (a zombie leader keeps the group id from being reused).
// On time out: SIGTERM to the group, `grace`, SIGKILL to the group, then at
// most another `grace` for the leader to be reaped; a leader stuck in the
// kernel (uninterruptible sleep) is abandoned unreaped: reaped is false.
GroupWait WaitOrKillGroup(pid_t pid, std::chrono::steady_clock::time_point deadline,
                          std::chrono::milliseconds grace);

}  // namespace gpuhost
