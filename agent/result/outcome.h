// How one action went: the outcome every stage after apply reads (the result
// file, the journal, the page, the metrics, the CLI). The names are the
// result file's and the API's ("done", "held", ...): ToString and
// OutcomeFromString are their one home.
#pragma once

#include <iosfwd>
#include <optional>
#include <string_view>

namespace gpuhost::result {

enum class Outcome {
  kDone,       // changed, and read back as wanted
  kUnchanged,  // already as wanted: nothing written
  kFailed,     // tried and did not hold; the message says why
  kSkipped,    // not tried: not the running system, or an earlier step failed
  kHeld,       // not tried: a VM or a process uses the function; the message names it
  kMissing,    // a kernel parameter wanted and not on /proc/cmdline (a check, not a change)
  kDryRun,     // `apply --dry-run`: decided, not done
};

// "done", "unchanged", "failed", "skipped", "held", "missing", "dry-run".
const char* ToString(Outcome o);
// The outcome a name stands for; nullopt for any other text.
std::optional<Outcome> OutcomeFromString(std::string_view name);
// Every outcome, in declaration order (for tests and tables).
inline constexpr Outcome kAllOutcomes[] = {
    Outcome::kDone, Outcome::kUnchanged, Outcome::kFailed, Outcome::kSkipped,
    Outcome::kHeld, Outcome::kMissing,   Outcome::kDryRun};

// Failed, or held: the action did not happen and the run is worse for it.
inline bool IsFailure(Outcome o) { return o == Outcome::kFailed || o == Outcome::kHeld; }

// For test failure messages: the name.
std::ostream& operator<<(std::ostream& os, Outcome o);

}  // namespace gpuhost::result
