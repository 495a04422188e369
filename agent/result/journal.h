// Structured journal entries for each action and for the run's result, so
// `journalctl GPUHOST_OUTCOME=failed` finds every failure on a fleet node.
#pragma once

#include "result/state.h"

namespace gpuhost::result {

void JournalAction(const ActionResult& r);
void JournalResult(const State& s);

}  // namespace gpuhost::result
