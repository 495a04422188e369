// Structured journal entries for each action and for the run's result, so
// `journalctl GPUHOST_OUTCOME=failed` finds every failure on a fleet node.
#pragma once

#include "report/state.h"

namespace gpuhost::report {

void JournalAction(const ActionResult& r);
void JournalResult(const State& s);

}  // namespace gpuhost::report
