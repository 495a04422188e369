// gpuhost-agent update: one systemd-sysupdate run, recorded for the page
// (update/run_update.h, docs/updates.md section 3).
#include <cstdio>

#include "base/strings.h"
#include "cli/commands.h"
#include "host/commands.h"
#include "host/fs.h"
#include "update/run_update.h"

namespace gpuhost::cli {

int RunUpdateCommand(const Args& args) {
  constexpr const char* kCmd = "update";
  update::UpdateOptions o;
  o.sysupdate = args.Get("sysupdate", o.sysupdate);
  o.state_dir = args.Get("state-dir", o.state_dir);
  o.reboot = args.Has("reboot");
  if (args.Has("timeout-s")) {
    auto n = ParseInt(args.Get("timeout-s"));
    if (!n || *n < 1 || *n > 24 * 3600) {
      Err(kCmd, "--timeout-s '" + args.Get("timeout-s") + "': want seconds, 1..86400");
      return 2;
    }
    o.timeout_ms = static_cast<int>(*n * 1000);
  }
  RootFs fs(args.Get("root", "/"));
  RealCommandRunner commands;
  boot::UpdateAttempt a = update::RunUpdate(fs, commands, o);
  std::printf("update %s in %.1f s: %s\n", a.result.c_str(), a.duration_s, a.message.c_str());
  return a.result == "failed" ? 1 : 0;
}

}  // namespace gpuhost::cli
