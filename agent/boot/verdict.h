// The blessing's verdicts, kept on the state partition
// (/var/lib/gpuhost/boot-assessment.json): each counted boot's version, whether the agent's
// run blessed it and why not. /var is shared by every version, so after
// systemd-boot has fallen back, the older version finds here why the newer
// one was refused (docs/updates.md, section 4). The newest 16 are kept.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::boot {

inline constexpr const char* kVerdictFileName = "boot-assessment.json";
inline constexpr size_t kVerdictsKept = 16;

struct Verdict {
  std::string version;  // IMAGE_VERSION of the boot judged
  std::string uki;      // its UKI file as LoaderBootCountPath named it ("" when unknown)
  std::string boot_id;
  std::string at;  // RFC 3339 UTC
  bool blessed = false;
  std::string reason;  // the page's one line: "failed: bind-vfio ... failed: ..."
};

nlohmann::json ToJson(const Verdict& v);
Result<Verdict> VerdictFromJson(const nlohmann::json& j);

// The verdicts in `state_dir`, oldest first; none (not an error) when the
// file does not exist. Invalid when it cannot be parsed.
Result<std::vector<Verdict>> ReadVerdicts(const Fs& fs, const std::string& state_dir);

// Appends `v` (dropping the oldest beyond kVerdictsKept) and writes the file
// atomically, mode 0644: serve reads it as another user. A file that cannot
// be parsed is replaced, not appended to.
Status AppendVerdict(Fs& fs, const std::string& state_dir, const Verdict& v);

// The newest verdict refusing `version`, or null.
const Verdict* LastRefusal(const std::vector<Verdict>& verdicts, const std::string& version);

}  // namespace gpuhost::boot
