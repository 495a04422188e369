#include "update/run_update.h"

#include <chrono>
#include <set>

#include "base/clock.h"
#include "boot/read_boot.h"
#include "boot/version.h"

namespace gpuhost::update {
namespace {

std::set<std::string> Versions(const boot::BootFacts& f) {
  std::set<std::string> out;
  for (const auto& u : f.ukis) out.insert(u.version);
  return out;
}

}  // namespace

boot::UpdateAttempt RunUpdate(Fs& fs, CommandRunner& commands, const UpdateOptions& o) {
  boot::UpdateAttempt a;
  a.started_at = NowRfc3339Utc();
  auto t0 = std::chrono::steady_clock::now();
  boot::BootFacts before = boot::ReadBootFacts(fs, o.state_dir);
  a.from_version = before.running_version;
  Status s = commands.Run({o.sysupdate, "update"}, o.timeout_ms);
  boot::BootFacts after = boot::ReadBootFacts(fs, o.state_dir);
  std::set<std::string> had = Versions(before);
  for (const auto& v : Versions(after)) {
    if (had.count(v) == 0 && (a.to_version.empty() || boot::CompareVersions(v, a.to_version) > 0)) {
      a.to_version = v;
    }
  }
  if (!s.ok()) {
    a.result = "failed";
    a.message = s.message() + " (systemd-sysupdate's own messages are in the journal)";
  } else if (!a.to_version.empty()) {
    a.result = "updated";
    a.message = "version " + a.to_version + " is installed and boots next";
  } else {
    a.result = "no-update";
    a.message = "nothing newer than " +
                (a.from_version.empty() ? std::string("this version") : a.from_version) +
                " at the source";
  }
  a.reboot_requested = o.reboot && a.result == "updated";
  a.finished_at = NowRfc3339Utc();
  a.duration_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (Status w = boot::WriteUpdateAttempt(fs, o.state_dir, a); !w.ok()) {
    a.message += "; not recorded: " + w.ToString();
  }
  if (a.reboot_requested) {
    if (Status r = commands.Run({"/usr/bin/systemctl", "reboot"}, 30000); !r.ok()) {
      a.message += "; reboot failed: " + r.message();
    }
  }
  return a;
}

}  // namespace gpuhost::update
