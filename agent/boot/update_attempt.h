// The last update attempt, kept beside state.json (/var/lib/gpuhost/update.json)
// by `gpuhost-agent update` and shown by serve: when, from which version to
// which, how it went and how long it took (docs/updates.md, section 3).
// Here, with the boot state, because serve reads both and links no updater.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::boot {

inline constexpr const char* kUpdateAttemptFileName = "update.json";

struct UpdateAttempt {
  std::string started_at;  // RFC 3339 UTC
  std::string finished_at;
  double duration_s = 0;
  std::string from_version;  // running when it started
  std::string to_version;    // installed by it; "" when none
  // "updated" (a new version is installed and boots next), "no-update"
  // (nothing newer at the source), "failed" (message says why).
  std::string result;
  std::string message;
  bool reboot_requested = false;
};

nlohmann::json ToJson(const UpdateAttempt& a);
Result<UpdateAttempt> UpdateAttemptFromJson(const nlohmann::json& j);

// Written atomically, mode 0644 (serve reads it as another user).
Status WriteUpdateAttempt(Fs& fs, const std::string& state_dir, const UpdateAttempt& a);
// nullopt when there was no attempt yet; Invalid when the file cannot be parsed.
Result<std::optional<UpdateAttempt>> ReadUpdateAttempt(const Fs& fs, const std::string& state_dir);

}  // namespace gpuhost::boot
