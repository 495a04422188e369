// State files for the serve tests: real inventories (the H200 capture, the
// two-socket fixture server) with plan decisions and run results.
#pragma once

#include <string>

#include "report/view.h"
#include "result/state.h"

namespace gpuhost::testing {

// This machine's boot id: the fixtures' results name it, so that serve
// (which reads /proc here) shows them as current.
std::string ThisBootId();

// The H200 capture's inventory; the GPU goes to vfio by a policy rule. The
// run: vfio_pci loaded and read back, the GPU bound, two kernel parameters
// wanted and missing from /proc/cmdline, one hardening check failing, one
// warning. result "degraded", no failed action.
result::State H200State();

// The fixture GPU server (plan_fixtures.h) planned with the default policy,
// every planned action "done", result "ok": five GPUs, IOMMU groups.
result::State GpuServerState(const std::string& scratch_dir);

// A view as serve builds it from a loaded state.json on host "h200", in the
// boot the state names.
report::View Loaded(result::State s);

// Writes state.json into `dir` atomically (a new inode, as the agent does).
void WriteState(const std::string& dir, const result::State& s);

}  // namespace gpuhost::testing
