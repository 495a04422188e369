#include "result/outcome.h"

#include <ostream>

namespace gpuhost::result {

const char* ToString(Outcome o) {
  switch (o) {
    case Outcome::kDone:
      return "done";
    case Outcome::kUnchanged:
      return "unchanged";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kSkipped:
      return "skipped";
    case Outcome::kHeld:
      return "held";
    case Outcome::kMissing:
      return "missing";
    case Outcome::kDryRun:
      return "dry-run";
  }
  return "unknown";
}

std::optional<Outcome> OutcomeFromString(std::string_view name) {
  for (Outcome o : kAllOutcomes) {
    if (name == ToString(o)) return o;
  }
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, Outcome o) { return os << ToString(o); }

}  // namespace gpuhost::result
