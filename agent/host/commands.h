// Running other programs (update-grub, systemctl) with a deadline.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace gpuhost {

class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Runs argv[0] (looked up in PATH) with stdin from /dev/null; Ok on exit
  // status 0. Timeout kills it after `timeout_ms`. Output goes to the
  // agent's own stderr (the journal).
  virtual Status Run(const std::vector<std::string>& argv, int timeout_ms) = 0;
};

class RealCommandRunner : public CommandRunner {
 public:
  Status Run(const std::vector<std::string>& argv, int timeout_ms) override;
};

}  // namespace gpuhost
