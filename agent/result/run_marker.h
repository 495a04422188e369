// Which boot and which run a result belongs to. Every apply run reads this
// boot's id and, before it changes anything, writes /run/gpuhost/run-started
// naming the run; the result file carries the same boot id and run id. /run
// is a tmpfs, so the marker is always this boot's: a result whose run id is
// not the marker's is from a run that never finished (killed, timed out,
// crashed), and a result from another boot describes a machine that is gone.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::result {

inline constexpr const char* kBootIdPath = "/proc/sys/kernel/random/boot_id";
inline constexpr const char* kRunMarkerPath = "/run/gpuhost/run-started";

// One run of `apply`, as the marker records it.
struct RunMarker {
  std::string boot_id;  // /proc/sys/kernel/random/boot_id, "" when unreadable
  std::string run_id;   // unique per run: boot id, pid and start time
  int64_t pid = 0;
  std::string started_at;  // RFC 3339 UTC
};

nlohmann::json ToJson(const RunMarker& m);
// Invalid names the first bad field.
Result<RunMarker> RunMarkerFromJson(const nlohmann::json& j);

// This boot's id, one line without the newline. NotFound when the file is
// absent (a --root tree without one, or a /proc the caller may not read),
// Invalid when it is empty or not one printable word.
Result<std::string> ReadBootId(const Fs& fs);

// A marker for a run starting now in this process.
RunMarker NewRunMarker(const std::string& boot_id);

// Writes kRunMarkerPath atomically (temp file, rename), mode 0644: serve
// runs as another user and reads it.
Status WriteRunMarker(Fs& fs, const RunMarker& m);

// The marker as written by the last run of this boot. NotFound when no run
// started in this boot; Invalid when the file cannot be parsed.
Result<RunMarker> ReadRunMarker(const Fs& fs);

}  // namespace gpuhost::result
