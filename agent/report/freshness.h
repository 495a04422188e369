// Whether the result serve shows is this boot's, from a run that finished.
// A result from another boot describes a machine that has been rebooted
// since (modules, bindings and sysctls are gone); a result older than the
// last run started in this boot hides a run that was killed, timed out or
// crashed. Neither may be shown as the machine's current state. Pure.
#pragma once

#include <string>

#include "report/view.h"

namespace gpuhost::report {

struct Freshness {
  enum class Kind {
    kCurrent,     // the result is this boot's and its run is the last one started
    kNoResult,    // no (valid) result and no run started in this boot
    kOtherBoot,   // the result names another boot
    kNoBootId,    // the result names no boot (an older agent wrote it)
    kUnfinished,  // a run started in this boot and has not written its result
  };
  Kind kind = Kind::kNoResult;
  std::string boot_id;         // this boot, "" when unknown
  std::string result_boot_id;  // the result's, "" when none
  std::string reason;          // one line; "" when current
};

// "current", "no-result", "other-boot", "no-boot-id", "unfinished".
const char* FreshnessName(Freshness::Kind k);

// This boot's id is the one serve read from /proc; where its sandbox hides
// /proc/sys, the run marker's (it lives on /run, a tmpfs: always this
// boot's). With neither, no run started in this boot: a result is another
// boot's. A result of this boot with no marker (removed by hand) is current.
Freshness JudgeFreshness(const View& v);

}  // namespace gpuhost::report
