#include "apply/reboot_guard.h"

#include "base/strings.h"

namespace gpuhost::apply {

using result::Outcome;

void RequestReboot(Env& env, const Options& opts, const plan::Action& a, result::ActionResult* r,
                   result::State* st) {
  const auto* request = a.As<plan::act::RequestReboot>();
  const std::string missing = request != nullptr ? request->missing : "";
  std::string guard = opts.state_dir + "/reboot-guard";
  auto boot = env.fs.Read("/proc/sys/kernel/random/boot_id");
  std::string boot_id = boot.ok() ? std::string(Trim(*boot)) : "unknown";
  // Guard file: "MISSING\nBOOT_ID\n" of the last request.
  if (auto g = env.fs.Read(guard); g.ok()) {
    auto lines = Split(*g, '\n');
    if (lines.size() >= 2 && lines[0] == missing && lines[1] != boot_id) {
      r->outcome = Outcome::kFailed;
      r->message = "still missing after the reboot requested for them (" + missing +
                   "): the bootloader did not apply them; not rebooting again";
      return;
    }
  }
  Status s = env.fs.WriteAtomic(guard, missing + "\n" + boot_id + "\n", 0644);
  if (s.ok()) s = env.fs.WriteAtomic(kRebootRequiredFile, a.reason + "\n", 0644);
  if (!s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = s.ToString();
    return;
  }
  st->reboot_requested = true;
  if (opts.reboot_when_needed && opts.live) {
    Status rs = env.commands.Run({"/usr/bin/systemctl", "reboot", "--no-block"}, 30000);
    r->outcome = rs.ok() ? Outcome::kDone : Outcome::kFailed;
    r->message = rs.ok() ? "rebooting" : rs.ToString();
    return;
  }
  r->outcome = Outcome::kDone;
  r->message = std::string("reboot required (") + kRebootRequiredFile +
               "); the policy does not reboot by itself";
}

}  // namespace gpuhost::apply
