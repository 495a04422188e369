// The node's copy of a sysupdate transfer (docs/updates.md, section 3): the
// image's /usr/lib/sysupdate.d/*.transfer fetch from a placeholder that
// never resolves; the node's update URL and boot tries are written into a
// copy of the same name in /run/sysupdate.d, which systemd-sysupdate reads
// first. Only those two values change: a credential cannot point a transfer
// at another partition or file.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace gpuhost::update {

struct Source {
  std::string url;           // the directory with SHA256SUMS (fleet::CheckUpdateUrl's)
  std::optional<int> tries;  // TriesLeft= of the UKI transfer; none: the image's (3)
};

// `transfer` with the [Source] section's Path= set to src.url and, when
// src.tries is set and the [Target] section has TriesLeft=, that one set to
// it. Invalid when the transfer has no [Source] Path= line to replace.
Result<std::string> RenderTransfer(std::string_view transfer, const Source& src);

}  // namespace gpuhost::update
