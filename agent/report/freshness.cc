#include "report/freshness.h"

namespace gpuhost::report {
namespace {

std::string Unfinished(const RunMarker& m) {
  return "run started at " + m.started_at + " (pid " + std::to_string(m.pid) +
         ") never finished: still running, or killed, timed out or crashed";
}

}  // namespace

const char* FreshnessName(Freshness::Kind k) {
  switch (k) {
    case Freshness::Kind::kCurrent:
      return "current";
    case Freshness::Kind::kNoResult:
      return "no-result";
    case Freshness::Kind::kOtherBoot:
      return "other-boot";
    case Freshness::Kind::kNoBootId:
      return "no-boot-id";
    case Freshness::Kind::kUnfinished:
      return "unfinished";
  }
  return "unknown";
}

Freshness JudgeFreshness(const View& v) {
  using Kind = Freshness::Kind;
  Freshness f;
  const RunMarker* marker = v.run_marker ? &*v.run_marker : nullptr;
  f.boot_id = v.boot_id;
  if (f.boot_id.empty() && marker != nullptr) f.boot_id = marker->boot_id;
  // A marker another boot left in a --root tree's /run says nothing of this one.
  if (marker != nullptr && !v.boot_id.empty() && marker->boot_id != v.boot_id) marker = nullptr;
  if (v.state) f.result_boot_id = v.state->boot_id;

  if (!v.run_marker_error.empty()) {
    f.kind = Kind::kUnfinished;
    f.reason = "cannot tell whether the last run finished: " + v.run_marker_error;
    return f;
  }
  if (!v.state) {
    f.kind = marker != nullptr ? Kind::kUnfinished : Kind::kNoResult;
    if (marker != nullptr) f.reason = Unfinished(*marker) + "; no result";
    return f;
  }
  const State& s = *v.state;
  std::string this_boot = f.boot_id.empty() ? "unknown (no run started in it)" : f.boot_id;
  if (s.boot_id.empty()) {
    f.kind = Kind::kNoBootId;
    f.reason = "the result names no boot (written by an older agent), this is boot " + this_boot;
    return f;
  }
  if (s.boot_id != f.boot_id) {
    f.kind = Kind::kOtherBoot;
    f.reason = "result from boot " + s.boot_id + ", this is boot " + this_boot;
    return f;
  }
  if (marker != nullptr && marker->run_id != s.run_id) {
    f.kind = Kind::kUnfinished;
    f.reason = Unfinished(*marker) + "; the result shown is an earlier run's (finished at " +
               s.finished_at + ")";
    return f;
  }
  f.kind = Kind::kCurrent;
  return f;
}

}  // namespace gpuhost::report
