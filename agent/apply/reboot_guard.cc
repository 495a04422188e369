#include "apply/reboot_guard.h"

#include "base/strings.h"

namespace gpuhost::apply {

void RequestReboot(Env& env, const Options& opts, const plan::Action& a, report::ActionResult* r,
                   report::State* st) {
  std::string guard = opts.state_dir + "/reboot-guard";
  auto boot = env.fs.Read("/proc/sys/kernel/random/boot_id");
  std::string boot_id = boot.ok() ? std::string(Trim(*boot)) : "unknown";
  // Guard file: "MISSING\nBOOT_ID\n" of the last request.
  if (auto g = env.fs.Read(guard); g.ok()) {
    auto lines = Split(*g, '\n');
    if (lines.size() >= 2 && lines[0] == a.target && lines[1] != boot_id) {
      r->outcome = "failed";
      r->message = "still missing after the reboot requested for them (" + a.target +
                   "): the bootloader did not apply them; not rebooting again";
      return;
    }
  }
  Status s = env.fs.WriteAtomic(guard, a.target + "\n" + boot_id + "\n", 0644);
  if (s.ok()) s = env.fs.WriteAtomic(kRebootRequiredFile, a.reason + "\n", 0644);
  if (!s.ok()) {
    r->outcome = "failed";
    r->message = s.ToString();
    return;
  }
  st->reboot_requested = true;
  if (opts.reboot_when_needed && opts.live) {
    Status rs = env.commands.Run({"/usr/bin/systemctl", "reboot", "--no-block"}, 30000);
    r->outcome = rs.ok() ? "done" : "failed";
    r->message = rs.ok() ? "rebooting" : rs.ToString();
    return;
  }
  r->outcome = "done";
  r->message = std::string("reboot required (") + kRebootRequiredFile +
               "); the policy does not reboot by itself";
}

}  // namespace gpuhost::apply
