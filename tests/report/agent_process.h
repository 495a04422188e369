// The real gpuhost-agent binary running `serve` on a loopback ephemeral port,
// stopped with SIGTERM when the object goes away.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace gpuhost::testing {

class ServeProcess {
 public:
  // Starts `gpuhost-agent serve --listen 127.0.0.1:0 --state-dir DIR` plus
  // `extra_args`, with `env` ("NAME=value") added to the environment, and
  // waits for its "listening on" line. port() is 0 when that failed. Without
  // `listen_arg`, no --listen: the policy says where.
  explicit ServeProcess(const std::string& state_dir, std::vector<std::string> extra_args = {},
                        std::vector<std::string> env = {}, bool listen_arg = true);
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  // True while the process has not exited.
  bool Running();
  // VmRSS and VmHWM from /proc/PID/status, in KiB.
  long RssKib() const;
  long PeakRssKib() const;
  // Anonymous memory (heap, stacks) from /proc/PID/smaps_rollup, in KiB: what
  // serve itself allocates, without the shared libraries' pages.
  long AnonymousKib() const;
  // SIGTERM, then wait; returns the exit status (128+signal when killed).
  int Stop();

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int status_ = -1;
};

}  // namespace gpuhost::testing
