// `gpuhost-agent update`: one systemd-sysupdate run, recorded
// (boot/update_attempt.h). What was installed is read from the ESP before
// and after, not parsed from sysupdate's output: the UKI is the last
// transfer (docs/updates.md, section 3), so a version whose UKI appeared is
// one that will boot, and nothing else is. Progress and errors are
// sysupdate's own, in the journal.
#pragma once

#include <string>

#include "boot/update_attempt.h"
#include "host/commands.h"
#include "host/fs.h"

namespace gpuhost::update {

struct UpdateOptions {
  std::string sysupdate = "/usr/lib/systemd/systemd-sysupdate";
  std::string state_dir = "/var/lib/gpuhost";
  // A whole image over a slow link: the root slot is hundreds of MB.
  int timeout_ms = 60 * 60 * 1000;
  // Reboot into the new version when one was installed (systemctl reboot).
  bool reboot = false;
};

// Runs `sysupdate update`, records the attempt in state_dir (a failure to
// record is added to the message) and returns it.
boot::UpdateAttempt RunUpdate(Fs& fs, CommandRunner& commands, const UpdateOptions& o);

}  // namespace gpuhost::update
