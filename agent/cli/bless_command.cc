// gpuhost-agent bless: this boot's verdict for systemd's boot counting
// (report/bless.h, docs/updates.md section 4). gpuhost-bless.service runs it
// before boot-complete.target on counted boots only; exit 0 lets
// systemd-bless-boot mark the version good, exit 1 fails the target, and the
// unit's FailureAction=reboot spends one of the version's tries.
#include <cstdio>

#include "base/clock.h"
#include "boot/read_boot.h"
#include "cli/commands.h"
#include "host/fs.h"
#include "report/bless.h"

namespace gpuhost::cli {

int RunBless(const Args& args) {
  constexpr const char* kCmd = "bless";
  RootFs fs(args.Get("root", "/"));
  std::string state_dir = args.Get("state-dir", "/var/lib/gpuhost");
  report::View view = report::LoadThisBootView(fs, state_dir);
  report::BlessDecision d = report::JudgeBoot(view);
  boot::BootFacts facts = boot::ReadBootFacts(fs, state_dir);
  boot::Verdict verdict;
  verdict.version = facts.running_version;
  // "\EFI\Linux\gpuhost-kvm-host_3+2-1.efi" -> the file, as the ESP lists it.
  verdict.uki = facts.boot_count_path.substr(facts.boot_count_path.find_last_of('\\') + 1);
  verdict.boot_id = view.boot_id;
  verdict.at = NowRfc3339Utc();
  verdict.blessed = d.blessed;
  verdict.reason = d.reason;
  // The record is what the version running after a rollback explains it
  // with; failing to keep it does not change the verdict.
  if (Status s = boot::AppendVerdict(fs, state_dir, verdict); !s.ok()) {
    Err(kCmd, "cannot record the verdict: " + s.ToString());
  }
  std::string version = verdict.version.empty() ? "this boot" : "version " + verdict.version;
  if (d.blessed) {
    std::printf("%s is good: %s\n", version.c_str(), d.reason.c_str());
    return 0;
  }
  Err(kCmd, version + " is not blessed: " + d.reason);
  return 1;
}

}  // namespace gpuhost::cli
