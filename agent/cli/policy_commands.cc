// check-policy: what the fleet tool (image/fleet.py) validates each node's
// policy with, the same parser apply uses.
#include <cstdio>

#include "base/fileio.h"
#include "cli/commands.h"
#include "plan/policy.h"

namespace gpuhost::cli {

int RunCheckPolicy(const Args& args) {
  auto files = args.GetAll("policy");
  if (files.empty()) {
    Err("check-policy", "--policy FILE is required");
    return 2;
  }
  int bad = 0;
  for (const auto& file : files) {
    // The same cap as a policy apply reads (run/policy_source.cc).
    auto text = ReadFileAt(file, 1 << 20);
    Status s = text.ok() ? plan::ParsePolicy(*text, file).status() : text.status();
    if (s.ok()) {
      std::printf("%s: ok\n", file.c_str());
    } else {
      // Parse errors start with "FILE:LINE:COL: " already.
      std::string msg = s.message();
      if (msg.rfind(file + ":", 0) != 0) msg = file + ": " + msg;
      std::printf("%s\n", msg.c_str());
      bad++;
    }
  }
  return bad == 0 ? 0 : 1;
}

}  // namespace gpuhost::cli
