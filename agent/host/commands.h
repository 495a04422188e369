// Running other programs (update-grub, systemctl) with a deadline.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/status.h"

namespace gpuhost {

// The whole environment a command gets: nothing of the agent's (a unit's
// Environment=, a shell's variables) leaks into update-grub's scripts.
inline constexpr const char* kCommandEnvironment[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
                                                      "LANG=C.UTF-8"};

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0], an absolute path (Invalid otherwise: no PATH lookup), with
  // stdin from /dev/null and only kCommandEnvironment; Ok on exit status 0.
  // It runs in its own process group; at `timeout_ms` the whole group is
  // stopped (SIGTERM, a short grace, SIGKILL) and Timeout names the command
  // and the deadline. Output goes to the agent's own stderr (the journal).
  virtual Status Run(const std::vector<std::string>& argv, int timeout_ms) = 0;
};

class RealCommandRunner : public CommandRunner {
 public:
  // grace_ms: between SIGTERM and SIGKILL to the group at the deadline.
  explicit RealCommandRunner(int grace_ms = 2000) : grace_ms_(grace_ms) {}
  Status Run(const std::vector<std::string>& argv, int timeout_ms) override;
  // A deadline for every command (the whole run's): each gets the earlier
  // of its own timeout and this.
  void set_run_deadline(std::chrono::steady_clock::time_point t) { run_deadline_ = t; }

 private:
  int grace_ms_;
  std::chrono::steady_clock::time_point run_deadline_ =
      std::chrono::steady_clock::time_point::max();
};

}  // namespace gpuhost
