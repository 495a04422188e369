// One agent run: inventory -> policy -> plan -> apply -> state file,
// journal and sd_notify. What the gpuhost-agent.service unit runs.
#pragma once

#include <string>

namespace gpuhost::run {

struct RunOptions {
  std::string root = "/";
  std::string policy_file;      // --policy; "" for the default search
  std::string credentials_dir;  // $CREDENTIALS_DIRECTORY
  std::string state_dir = "/var/lib/gpuhost";
  bool dry_run = false;
  bool print_json = false;
};

// Returns the exit status: 0 ok or degraded, 1 failed (an action failed or
// the policy is bad; the state file says which), 2 nothing could be read.
int RunAgent(const RunOptions& opts);

}  // namespace gpuhost::run
