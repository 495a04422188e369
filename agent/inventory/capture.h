// `gpuhost-agent capture`: copy from a live machine the part of /sys and
// /proc that inventory reads, as a tree that `inventory --root` replays. A
// user attaches it to a bug report; we add it to tests/data as a fixture.
// /proc/cmdline is copied with its secrets' values hidden (inventory/redact.h).
#pragma once

#include <vector>

#include "base/status.h"
#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

struct CaptureStats {
  int files = 0;
  int links = 0;
  std::vector<Warning> warnings;  // what could not be read (left out)
};

// Reads through `src`, writes through `dst`. Symbolic links keep their
// relative targets so the copy resolves inside itself. Fails only when
// `dst` cannot be written.
Result<CaptureStats> Capture(const Fs& src, Fs& dst);

}  // namespace gpuhost::inventory
