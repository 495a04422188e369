// What `serve` shows: the agent's state file as last read (or why there is
// none), plus the rows the page, the JSON API and the metrics share. Pure:
// built from a State and a few strings, never touches the machine.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "boot/boot_state.h"
#include "boot/update_attempt.h"
#include "boot/verdict.h"
#include "libvirt/watcher.h"
#include "nvml/watcher.h"
#include "result/run_marker.h"
#include "result/state.h"

namespace gpuhost::report {

// The result model (result/) that every view is built from.
using result::ActionResult;
using result::Check;
using result::Outcome;
using result::RunMarker;
using result::State;

// Who is serving: goes into build info and the page footer.
struct BuildInfo {
  std::string version;          // gpuhost-agent version
  std::string openssl_version;  // OpenSSL the server runs with (its TLS), "3.0.19"
};

struct View {
  enum class Source {
    kMissing,  // no state file: the agent has not finished a run
    kInvalid,  // the file exists but cannot be read or parsed
    kLoaded,
  };
  Source source = Source::kMissing;
  std::string state_path;      // the file, for messages
  std::string load_error;      // kInvalid: why
  std::optional<State> state;  // kLoaded only
  std::string hostname;
  BuildInfo build;
  // This boot and the last run started in it, as serve read them
  // (result/run_marker.h, report/freshness.h).
  std::string boot_id;                  // "" when serve cannot read it
  std::optional<RunMarker> run_marker;  // null: no run started in this boot
  std::string run_marker_error;         // the marker exists but cannot be read
  // What libvirt says now (serve's own reading), null when serve has none
  // yet: then the state file's record from the last run is shown.
  std::shared_ptr<const virt::Reading> live_virt;
  // What NVML says now about the host's NVIDIA GPUs (serve's own reading),
  // null when serve has none (no host NVIDIA GPU, or not read yet).
  std::shared_ptr<const nvml::Reading> live_nvml;
  // The blessing's verdicts beside the state file (boot/verdict.h): the run
  // records the boot state before gpuhost-bless.service judges the boot, so
  // whether this boot was blessed comes from here.
  std::vector<boot::Verdict> verdicts;
  // The last `gpuhost-agent update` (update.json beside the state file);
  // null before the first.
  std::optional<boot::UpdateAttempt> last_update;
};

// This boot's verdict (the newest naming the result's boot), or null: not a
// counted boot, or not judged yet.
const boot::Verdict* ThisBootVerdict(const View& v);

// The run's boot state as it stands now: the run records it before
// gpuhost-bless.service judges the boot, so on a counted boot it says
// "on-trial" even after this boot was blessed and systemd-bless-boot took
// the counter off the UKI. With a blessed verdict for this boot the running
// version is shown blessed (status "blessed", its UKI good, no counter);
// null when the run recorded no boot state.
std::optional<boot::BootState> EffectiveBootState(const View& v);

// The answer of GET /healthz. Decision:
//  - "stale": the result is another boot's, or names none: 503, "stale:
//    result from boot X, this is boot Y" (report/freshness.h);
//  - "unfinished": a run started in this boot has not written its result:
//    503, "run started at T (pid P) never finished: ...";
//  - "ok": result "ok", no failed action and no error: 200;
//  - "degraded": result "degraded" with warnings but no failed action and no
//    error: 200, the body says so and names the first warning;
//  - "failed": result "failed", any action failed, any error, or a result we
//    do not know: 503 naming the first error or failed action;
//  - "no-state" / "invalid-state": 503 naming the file.
struct Health {
  int http_status = 503;
  std::string status;  // ok, degraded, failed, stale, unfinished, no-state, invalid-state
  std::string reason;  // one line; empty for a plain "ok"
};
Health Evaluate(const View& v);

// One GPU: what inventory found joined with what the plan decided.
struct GpuRow {
  const inventory::Gpu* gpu = nullptr;
  const plan::GpuDecision* decision = nullptr;  // null: the plan did not mention it
  std::string driver;                           // bound driver or "" (none)
  std::string model;                            // "NVIDIA H200" or "Device 10de:2335"
  std::string assignment;                       // "host", "vfio" or "undecided"
};
std::vector<GpuRow> GpuRows(const State& s);

// One kernel parameter the plan wants, and whether /proc/cmdline has it (as
// far as the line with its secrets hidden tells, and apply found it there).
struct KernelParamRow {
  std::string param;
  bool in_effect = false;
};
std::vector<KernelParamRow> KernelParamRows(const State& s);
// Words of /proc/cmdline, in order, up to "--" (what follows is init's).
std::vector<std::string> CmdlineWords(const std::string& cmdline);

// A module the plan loads, with how it went and its read-back check if any.
struct ModuleRow {
  std::string name;
  std::string options;
  std::optional<result::Outcome> outcome;  // from the action; none when only planned
  std::string message;
  const Check* check = nullptr;  // the "module NAME" check
};
std::vector<ModuleRow> ModuleRows(const State& s);

// Checks that are not module read-backs (hardening sysctls, bound drivers).
std::vector<const Check*> OtherChecks(const State& s);

// The run's warnings, then the plan's and the inventory's that it did not
// already carry (apply may copy them over; each is listed once).
std::vector<inventory::Warning> AllWarnings(const State& s);

// Count of actions per outcome ("done", "failed", ...), in name order.
std::vector<std::pair<std::string, int>> OutcomeCounts(const State& s);

}  // namespace gpuhost::report
