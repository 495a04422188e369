// Judge(): from the running version and the ESP's UKI names to one status.
#include <algorithm>

#include "boot/boot_state.h"
#include "boot/version.h"

namespace gpuhost::boot {
namespace {

std::string Tries(int n) { return std::to_string(n) + (n == 1 ? " try" : " tries"); }

// The reason a refused version gives on the page: its verdict's, or why
// there is none (the version never got as far as the agent's health check).
std::string RefusalReason(const std::vector<Verdict>& verdicts, const std::string& version) {
  if (const Verdict* v = LastRefusal(verdicts, version)) return v->reason;
  return "version " + version +
         " never reached its health check (no verdict recorded: it did not boot, hung, or was "
         "reset by the watchdog)";
}

}  // namespace

BootState Judge(const BootFacts& f) {
  BootState s;
  s.image_id = f.image_id;
  s.running_version = f.running_version;
  s.esp = f.esp;
  s.boot_count_path = f.boot_count_path;
  s.entry = f.entry;
  if (f.image_id.empty() || f.running_version.empty()) {
    s.status = "not-an-image";
    s.summary = "not a gpuhost image (os-release has no IMAGE_ID and IMAGE_VERSION)";
    return s;
  }
  if (f.esp.empty()) {
    s.status = "no-esp";
    s.summary = "running " + f.running_version +
                "; no ESP with EFI/Linux under /efi, /boot or /boot/efi (a network boot, or the "
                "ESP is not mounted): no installed versions to show";
    return s;
  }
  for (const auto& u : f.ukis) {
    s.installed.push_back({u.version, u.file, StateOf(u), u.tries_left, u.tries_done});
  }
  std::stable_sort(s.installed.begin(), s.installed.end(), [](const auto& a, const auto& b) {
    return CompareVersions(a.version, b.version) > 0;
  });
  const InstalledVersion* running = nullptr;
  for (const auto& i : s.installed) {
    if (i.version == f.running_version) running = &i;
  }
  // A counted boot is one systemd-boot announced (LoaderBootCountPath), or,
  // where the variable cannot be read, one whose own file still counts.
  s.counted_boot =
      !f.boot_count_path.empty() || (running != nullptr && running->state == UkiState::kTrying);
  const InstalledVersion* newest = s.installed.empty() ? nullptr : &s.installed.front();
  bool newer = newest != nullptr && CompareVersions(newest->version, f.running_version) > 0;
  if (newer && newest->state == UkiState::kBad) {
    s.status = "rolled-back";
    s.rolled_back_from = newest->version;
    s.rollback_tries = newest->tries_done;
    s.rollback_reason = RefusalReason(f.verdicts, newest->version);
    s.summary = "rolled back from " + newest->version + " to " + f.running_version + " after " +
                Tries(newest->tries_done) + ": " + s.rollback_reason;
  } else if (s.counted_boot) {
    s.status = "on-trial";
    s.summary = "version " + f.running_version + " is on trial";
    if (running != nullptr && running->tries_left) {
      s.summary += " (try " + std::to_string(running->tries_done) + " of " +
                   std::to_string(running->tries_done + *running->tries_left) + ")";
    }
    s.summary += ": it is blessed once the agent's run of this boot is healthy";
  } else if (newer && newest->state == UkiState::kPending) {
    s.status = "update-pending";
    s.pending_version = newest->version;
    s.summary = "version " + newest->version + " is installed and is tried at the next boot (" +
                Tries(newest->tries_left.value_or(0)) + ")";
  } else if (newer) {
    s.status = "older-selected";
    s.summary = "running " + f.running_version + " although " + newest->version + " is " +
                UkiStateName(newest->state) +
                ": chosen in the boot menu or for this boot only (systemctl reboot "
                "--boot-loader-entry=)";
  } else {
    s.status = "blessed";
    s.summary = "running " + f.running_version + ", the newest installed version";
    if (running == nullptr) {
      s.summary += " (its UKI is not named " + f.image_id + "_" + f.running_version +
                   ".efi: an image from before versioned names)";
    }
  }
  return s;
}

}  // namespace gpuhost::boot
