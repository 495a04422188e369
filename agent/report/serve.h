// `gpuhost-agent serve`: the status page, JSON API and health check.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace gpuhost::report {

struct ServeOptions {
  std::vector<std::string> listen;  // "127.0.0.1:8080", "[::1]:8080"
  std::string state_dir;            // holds inventory.json (written by the agent)
};

// Runs until SIGTERM/SIGINT. Fails when an address cannot be parsed or bound.
Status Serve(const ServeOptions& opts);

}  // namespace gpuhost::report
