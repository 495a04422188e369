// One agent run: inventory -> policy -> plan -> apply -> state file,
// journal and sd_notify. What the gpuhost-agent.service unit runs.
#pragma once

#include <functional>
#include <string>

#include "host/commands.h"
#include "host/fs.h"
#include "host/modules.h"
#include "run/policy_fetch.h"

namespace gpuhost::run {

struct RunOptions {
  std::string root = "/";
  std::string policy_file;      // --policy; "" for the default search
  std::string credentials_dir;  // $CREDENTIALS_DIRECTORY
  std::string state_dir = "/var/lib/gpuhost";
  FleetOptions fleet;  // the policy URL of a fleet node (run/policy_fetch.h)
  // --fetched: the fetch record (run/fetch_record.h) that answers the policy
  // URLs instead of HTTPS, under the root; "": fetch over HTTPS.
  std::string fetched;
  bool dry_run = false;
  bool print_json = false;
  // Deadlines, so that the unit's TimeoutStartSec (5 min) never is what
  // stops a run: each module load (its install command included), each
  // libvirt call (connect and describe; one detach), and the whole run:
  // every command and load gets at most what is left of run_budget_ms,
  // which leaves the result file its time before the unit's limit.
  int module_timeout_ms = 60000;
  int libvirt_timeout_ms = 30000;
  int run_budget_ms = 270000;
};

// What a run touches; null members are the real ones: RootFs(opts.root),
// libkmod (or the root tree's modules), RealCommandRunner. Tests pass fakes.
// Module loads go through ChildModuleLoader either way.
struct RunHost {
  Fs* fs = nullptr;
  ModuleLoader* modules = nullptr;
  CommandRunner* commands = nullptr;
};

// Returns the exit status: 0 ok or degraded, 1 failed (an action failed or
// the policy is bad; the state file says which), 2 nothing could be read.
int RunAgent(const RunOptions& opts, const RunHost& host = {});

// Runs `steps` and returns its status. An exception out of it (a bug,
// bad_alloc) must not abort and leave the previous run's result in place,
// where /healthz would go on answering 200: it is printed and becomes a
// failed result in opts.state_dir through host.fs (not for a dry run), exit
// status 1.
int FailClosed(const RunOptions& opts, const RunHost& host, const std::function<int()>& steps);

}  // namespace gpuhost::run
