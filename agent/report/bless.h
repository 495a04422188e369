// Whether this boot is good, for systemd's boot counting (docs/updates.md,
// section 4): gpuhost-bless.service runs `gpuhost-agent bless` before
// boot-complete.target, and a version is blessed only when the agent's run
// of this boot was healthy. The decision is /healthz's (Evaluate): the page
// and the boot loader never disagree about a boot.
#pragma once

#include <string>

#include "host/fs.h"
#include "report/view.h"

namespace gpuhost::report {

struct BlessDecision {
  bool blessed = false;
  std::string reason;  // one line: "ok", "degraded: ...", "failed: ...", "stale: ..."
};

// Blessed when /healthz would answer 200: the result is this boot's, its
// run the last one started and finished, and its result ok or degraded.
BlessDecision JudgeBoot(const View& v);

// The view serve would show for `state_dir`/state.json under `root`, with
// this boot's id and run marker read from the same tree.
View LoadThisBootView(const Fs& root, const std::string& state_dir);

}  // namespace gpuhost::report
