#include "run/agent_run.h"

#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>

#include "apply/apply.h"
#include "boot/read_boot.h"
#include "host/child_module_loader.h"
#include "libvirt/virt.h"
#include "plan/plan.h"
#include "plan/policy.h"
#include "plan/policy_fit.h"
#include "plan/policy_json.h"
#include "result/journal.h"
#include "result/run_marker.h"
#include "result/state.h"
#include "run/deadline_call.h"
#include "run/fetch_record.h"
#include "run/load_inventory.h"
#include "run/policy_source.h"

#ifndef GPUHOST_VERSION
#define GPUHOST_VERSION "dev"
#endif

namespace gpuhost::run {
namespace {

const std::vector<std::string> kWaitForPciEvents = {"/usr/bin/udevadm", "trigger", "--settle",
                                                    "--subsystem-match=pci", "--action=change"};

using Clock = std::chrono::steady_clock;

int64_t Since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

std::string Summary(const result::State& s) {
  int changed = 0, unchanged = 0, failed = 0, skipped = 0, held = 0;
  for (const auto& a : s.actions) {
    using result::Outcome;
    if (a.outcome == Outcome::kDone) changed++;
    if (a.outcome == Outcome::kUnchanged) unchanged++;
    if (a.outcome == Outcome::kFailed) failed++;
    if (a.outcome == Outcome::kHeld) held++;
    if (a.outcome == Outcome::kSkipped || a.outcome == Outcome::kMissing) skipped++;
  }
  std::string out = "gpuhost apply: " + s.result + (s.dry_run ? " (dry run)" : "") + ": " +
                    std::to_string(changed) + " changed, " + std::to_string(unchanged) +
                    " unchanged, " + std::to_string(skipped) + " skipped or missing, " +
                    std::to_string(held) + " held, " + std::to_string(failed) + " failed\n";
  for (const auto& g : s.plan.gpus) {
    out += "  " + g.gpu.ToString() + " -> " + plan::AssignmentName(g.assignment) + ": " + g.reason +
           "\n";
  }
  for (const auto& e : s.errors) out += "  error: " + e.where + ": " + e.message + "\n";
  for (const auto& w : s.warnings) out += "  warning: " + w.where + ": " + w.message + "\n";
  if (!s.kernel_params_missing.empty()) {
    out += "  kernel parameters missing:";
    for (const auto& p : s.kernel_params_missing) out += " " + p;
    out += s.reboot_requested ? " (reboot requested)\n" : "\n";
  }
  return out;
}

// Reads this boot's id and, unless dry, marks the run as started before
// anything changes (result/run_marker.h). Problems go into `st`.
result::RunMarker StartRun(Fs& fs, const RunOptions& opts, bool live, result::State* st) {
  auto boot_id = result::ReadBootId(fs);
  if (!boot_id.ok() && live) {
    st->warnings.push_back({"boot id", boot_id.status().ToString() +
                                           ": the status page will show this result as stale"});
  }
  result::RunMarker marker = result::NewRunMarker(boot_id.value_or(""));
  if (!opts.dry_run) {
    if (Status s = result::WriteRunMarker(fs, marker); !s.ok()) {
      st->errors.push_back({result::kRunMarkerPath, s.ToString()});
    }
  }
  return marker;
}

// The result file's text. Messages can carry bytes from a policy or sysfs:
// anything that is not UTF-8 is replaced rather than thrown over.
std::string StateText(const result::State& st) {
  return result::StateToJson(st).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) +
         "\n";
}

// The policy (a fleet node's fetched one, run/policy_fetch.h), and whether it
// fits this host; either error fails the run. Where it came from goes into
// `origin`, a fallback's warning into `early`. A fetched policy that passed
// both checks is kept as the last good one (not by a dry run). In the unit,
// the URLs are answered from what gpuhost-policy-fetch.service fetched
// (--fetched): this process, with its capabilities, opens no IP socket.
Result<plan::Policy> PolicyFor(Fs& fs, const RunOptions& opts, const inventory::Inventory& inv,
                               fleet::PolicyOrigin* origin, result::State* early) {
  PolicyChoice choice =
      ChoosePolicy(fs, opts.policy_file, opts.credentials_dir, opts.fleet, inv.system.identity,
                   opts.state_dir, GetterFor(fs, opts.fetched));
  *origin = choice.origin;
  early->warnings.insert(early->warnings.end(), choice.warnings.begin(), choice.warnings.end());
  if (!choice.policy.ok()) return choice.policy;
  if (Status s = plan::CheckPolicyFits(*choice.policy, inv); !s.ok()) return s;
  if (!opts.dry_run) {
    if (Status s = KeepLastGood(fs, opts.state_dir, choice); !s.ok()) {
      early->warnings.push_back(
          {"policy", "cannot keep it as the last good policy: " + s.ToString()});
    }
  }
  return choice.policy;
}

int RunAgentSteps(const RunOptions& opts, const RunHost& host) {
  auto t_total = Clock::now();
  std::unique_ptr<Fs> own_fs;
  if (host.fs == nullptr) own_fs = std::make_unique<RootFs>(opts.root);
  Fs& fs = host.fs != nullptr ? *host.fs : *own_fs;
  const auto run_deadline = Clock::now() + std::chrono::milliseconds(opts.run_budget_ms);
  RealCommandRunner real_commands;
  real_commands.set_run_deadline(run_deadline);
  CommandRunner& commands = host.commands != nullptr ? *host.commands : real_commands;
  const bool live = fs.root().empty();
  result::State early;  // what goes wrong before apply builds the result
  result::RunMarker marker = StartRun(fs, opts, live, &early);
  // PCI devices still getting their drivers would be inventoried half-way
  // and moved under udev's feet: wait for their coldplug events first. Not
  // `udevadm settle`: that waits for every queued event (block, input, tty,
  // sound, net renames), which took 30 of the agent's 30.3 s in a TCG boot.
  // udevd runs a device's events in order, so a change event synthesized for
  // every PCI device completes only after that device's coldplug add event,
  // module load and driver probe included, has; --settle waits for exactly
  // those events.
  if (live) {
    sd_notify(0, "STATUS=waiting for the PCI devices' udev events");
    if (Status s = commands.Run(kWaitForPciEvents, 70000); !s.ok()) {
      std::fprintf(stderr, "gpuhost-agent apply: udevadm trigger --settle (PCI): %s (going on)\n",
                   s.ToString().c_str());
    }
  }
  sd_notify(0, "STATUS=inventory");
  auto t0 = Clock::now();
  LoadOptions load;
  load.libvirt = LibvirtStep::kForApply;
  load.libvirt_timeout_ms = opts.libvirt_timeout_ms;
  LoadedInventory loaded;
  Status inv_status = LoadInventory(fs, load, &loaded);
  const inventory::Inventory& inv = loaded.inv;
  std::shared_ptr<virt::Connection> libvirt = loaded.libvirt;
  bool libvirt_abandoned = loaded.libvirt_abandoned;
  int64_t inv_us = Since(t0);

  result::State st;
  plan::Plan p;
  int64_t plan_us = 0;
  // Nothing is planned from an inventory that could not be taken (a plan for
  // a machine without PCI functions would take every rule away), and nothing
  // is applied from a bad policy: a policy is carried out whole or not at all.
  fleet::PolicyOrigin origin;
  Result<plan::Policy> policy =
      inv_status.ok() ? PolicyFor(fs, opts, inv, &origin, &early) : inv_status;
  if (!policy.ok()) {
    std::fprintf(stderr, "gpuhost-agent apply: %s\n", policy.status().message().c_str());
    st.inventory = inv;
    st.result = "failed";
    st.errors.push_back({inv_status.ok() ? "policy" : "inventory", policy.status().message()});
  } else {
    sd_notify(0, "STATUS=plan");
    t0 = Clock::now();
    p = plan::MakePlan(inv, *policy);
    plan_us = Since(t0);
    sd_notify(0, "STATUS=apply");
    std::unique_ptr<ModuleLoader> own_modules;
    if (host.modules == nullptr && live) {
      own_modules = std::make_unique<KmodLoader>();
    } else if (host.modules == nullptr) {
      own_modules = std::make_unique<OfflineModuleLoader>(fs, inv.system.kernel_release);
    }
    ChildModuleLoader modules(host.modules != nullptr ? *host.modules : *own_modules,
                              opts.module_timeout_ms);
    modules.set_run_deadline(run_deadline);
    apply::Env env{fs, modules, commands, result::JournalAction, nullptr};
    if (libvirt) {
      // With libvirtd running, binds go through it so its view stays right.
      // A detach that misses its deadline is abandoned, and libvirt is not
      // asked again: its connection may be wedged.
      int own_ms = opts.libvirt_timeout_ms;
      env.detach = [libvirt, own_ms, run_deadline,
                    &libvirt_abandoned](const inventory::PciAddress& a) -> Status {
        auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(run_deadline - Clock::now());
        int ms = static_cast<int>(std::clamp<int64_t>(left.count(), 0, own_ms));
        if (libvirt_abandoned) {
          return Status::Timeout("libvirt missed an earlier deadline; not asked to detach " +
                                 a.ToString());
        }
        auto r = CallWithDeadline<Status>([libvirt, a] { return libvirt->DetachToVfio(a); },
                                          std::chrono::milliseconds(ms));
        if (r) return *r;
        libvirt_abandoned = true;
        return Status::Timeout("libvirt node device detach of " + a.ToString() +
                               " did not finish within its deadline of " + std::to_string(ms) +
                               " ms; abandoned");
      };
    }
    apply::Options ao;
    ao.dry_run = opts.dry_run;
    ao.live = live;
    ao.reboot_when_needed = policy->reboot_when_needed;
    ao.state_dir = opts.state_dir;
    st = apply::Apply(inv, p, env, ao);
  }
  st.warnings.insert(st.warnings.end(), early.warnings.begin(), early.warnings.end());
  st.errors.insert(st.errors.end(), early.errors.begin(), early.errors.end());
  if (!early.errors.empty()) st.result = "failed";
  if (!early.warnings.empty() && st.result == "ok") st.result = "degraded";
  st.policy = origin;
  // Which version runs and whether this boot is on trial or a rollback: read
  // here, as root, because serve cannot read the ESP (docs/updates.md).
  st.boot = boot::ReadBootState(fs, opts.state_dir);
  st.boot_id = marker.boot_id;
  st.run_id = marker.run_id;
  st.agent_version = GPUHOST_VERSION;
  st.timings_us["inventory"] = inv_us;
  st.timings_us["plan"] = plan_us;
  st.timings_us["total"] = Since(t_total);
  result::JournalResult(st);
  std::string json = StateText(st);
  if (!opts.dry_run) {
    if (Status s = fs.WriteAtomic(opts.state_dir + "/state.json", json, 0644); !s.ok()) {
      std::fprintf(stderr, "gpuhost-agent apply: cannot write the result file: %s\n",
                   s.ToString().c_str());
      st.result = "failed";
    }
  }
  std::string out = opts.print_json ? json : Summary(st);
  std::fwrite(out.data(), 1, out.size(), stdout);
  sd_notifyf(0, "READY=1\nSTATUS=%s", st.result.c_str());
  int code = st.result == "failed" ? 1 : 0;
  if (!inv_status.ok()) code = 2;
  if (libvirt_abandoned) {
    // A thread is still inside libvirt with the connection: exit handlers
    // (libvirt's own among them) must not run under it.
    std::fflush(nullptr);
    _exit(code);
  }
  return code;
}

int WriteFailedResult(const RunOptions& opts, const RunHost& host, const std::string& what) {
  std::string msg = "internal error: " + plan::Printable(what);
  std::fprintf(stderr, "gpuhost-agent apply: %s\n", msg.c_str());
  if (opts.dry_run) return 1;
  try {
    std::unique_ptr<Fs> own_fs;
    if (host.fs == nullptr) own_fs = std::make_unique<RootFs>(opts.root);
    Fs& fs = host.fs != nullptr ? *host.fs : *own_fs;
    result::State st;
    st.agent_version = GPUHOST_VERSION;
    st.boot_id = result::ReadBootId(fs).value_or("");
    st.result = "failed";
    st.errors.push_back({"agent", msg});
    if (Status s = fs.WriteAtomic(opts.state_dir + "/state.json", StateText(st), 0644); !s.ok()) {
      std::fprintf(stderr, "gpuhost-agent apply: cannot write the result file: %s\n",
                   s.ToString().c_str());
    }
    sd_notifyf(0, "READY=1\nSTATUS=failed");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "gpuhost-agent apply: cannot write the result file: %s\n", e.what());
  }
  return 1;
}

}  // namespace

int RunAgent(const RunOptions& opts, const RunHost& host) {
  return FailClosed(opts, host, [&opts, &host] { return RunAgentSteps(opts, host); });
}

int FailClosed(const RunOptions& opts, const RunHost& host, const std::function<int()>& steps) {
  try {
    return steps();
  } catch (const std::exception& e) {
    return WriteFailedResult(opts, host, e.what());
  } catch (...) {
    return WriteFailedResult(opts, host, "an exception that is not a std::exception");
  }
}

}  // namespace gpuhost::run
