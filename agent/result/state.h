// The agent's result file, /var/lib/gpuhost/state.json: what was found,
// decided, done and failed, with timings. Written atomically by apply; read
// by serve (page, API, metrics) and by the next run. docs/state-json.md.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "boot/boot_state.h"
#include "fleet/policy_origin.h"
#include "inventory/model.h"
#include "plan/model.h"
#include "result/outcome.h"

namespace gpuhost::result {

inline constexpr int kStateSchemaVersion = 1;

// How one action went.
struct ActionResult {
  plan::Action action;
  Outcome outcome = Outcome::kDone;
  std::string message;  // why it failed or was skipped; what was read back
  int64_t duration_us = 0;
};

// One read-back check (hardening sysctl, module loaded, device bound).
struct Check {
  std::string name;  // "kernel.kptr_restrict", "module vfio_pci"
  std::string wanted;
  std::string actual;
  bool ok = false;
};

struct State {
  std::string agent_version;
  // The boot and the run that wrote this result (result/run_marker.h); ""
  // in files written before they were recorded: such a result cannot be
  // shown as this boot's.
  std::string boot_id;
  std::string run_id;
  std::string started_at;  // RFC 3339 UTC
  std::string finished_at;
  std::string result;  // "ok", "degraded" (warnings/failed actions), "failed"
  bool dry_run = false;
  inventory::Inventory inventory;
  plan::Plan plan;
  std::vector<ActionResult> actions;
  std::vector<Check> checks;
  std::vector<std::string> kernel_params_missing;  // wanted but not in /proc/cmdline
  bool reboot_requested = false;
  std::vector<inventory::Warning> warnings;
  std::vector<inventory::Warning> errors;
  std::map<std::string, int64_t> timings_us;  // "inventory", "plan", "apply", "total"
  // Where the policy came from (a fleet's node file, ...); source "" when the
  // run did not get that far or an older agent wrote the file.
  fleet::PolicyOrigin policy;
  // The image's version, the versions installed in the ESP and whether this
  // boot is blessed, on trial or a rollback (boot/boot_state.h); null in
  // files of older agents.
  std::optional<boot::BootState> boot;
};

// One action with its outcome, as in state.json's "actions".
nlohmann::json ToJson(const ActionResult& a);
nlohmann::json StateToJson(const State& s);
// Invalid names the first bad field.
Result<State> StateFromJson(const nlohmann::json& j);

}  // namespace gpuhost::result
