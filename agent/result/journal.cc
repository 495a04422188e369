#include "result/journal.h"

#include <syslog.h>
#include <systemd/sd-journal.h>

#include <string>

namespace gpuhost::result {

void JournalAction(const ActionResult& r) {
  int prio =
      IsFailure(r.outcome) ? LOG_ERR : (r.outcome == Outcome::kSkipped ? LOG_WARNING : LOG_INFO);
  if (r.outcome == Outcome::kUnchanged) prio = LOG_DEBUG;
  const char* kind = plan::ActionKindName(r.action.Kind());
  const std::string target = r.action.Target();
  const char* outcome = ToString(r.outcome);
  sd_journal_send("MESSAGE=%s %s: %s%s%s", kind, target.c_str(), outcome,
                  r.message.empty() ? "" : ": ", r.message.c_str(), "PRIORITY=%d", prio,
                  "GPUHOST_ACTION=%s", kind, "GPUHOST_TARGET=%s", target.c_str(),
                  "GPUHOST_OUTCOME=%s", outcome, "GPUHOST_REASON=%s", r.action.reason.c_str(),
                  "GPUHOST_DURATION_US=%lld", static_cast<long long>(r.duration_us), nullptr);
}

void JournalResult(const State& s) {
  int prio = s.result == "failed" ? LOG_ERR : (s.result == "degraded" ? LOG_WARNING : LOG_INFO);
  std::string first = s.errors.empty() ? "" : s.errors[0].where + ": " + s.errors[0].message;
  sd_journal_send("MESSAGE=gpuhost apply %s: %zu actions, %zu warnings, %zu errors%s%s",
                  s.result.c_str(), s.actions.size(), s.warnings.size(), s.errors.size(),
                  first.empty() ? "" : "; first: ", first.c_str(), "PRIORITY=%d", prio,
                  "GPUHOST_RESULT=%s", s.result.c_str(), nullptr);
}

}  // namespace gpuhost::result
