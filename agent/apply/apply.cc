#include "apply/apply.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <variant>

#include "apply/holders.h"
#include "apply/reboot_guard.h"
#include "apply/restore.h"
#include "base/clock.h"
#include "base/overload.h"
#include "base/strings.h"

namespace gpuhost::apply {
namespace {

namespace act = plan::act;
using plan::ActionKind;
using result::ActionResult;
using result::Outcome;

bool ModuleLoaded(const Fs& fs, const std::string& name) {
  std::string n = name;
  for (char& c : n) c = c == '-' ? '_' : c;
  return fs.Exists("/sys/module/" + n);
}

void LoadModule(Env& env, const Options& opts, const act::LoadModule& m, ActionResult* r) {
  if (ModuleLoaded(env.fs, m.module)) {
    r->outcome = Outcome::kUnchanged;
    r->message = "loaded";
    return;
  }
  Status s = env.modules.Load(m.module, m.options);
  if (!s.ok()) {
    // --root: the module exists but is not for this kernel to load.
    r->outcome = (!opts.live && s.code() == Status::Code::kUnsupported) ? Outcome::kSkipped
                                                                        : Outcome::kFailed;
    r->message = s.ToString();
    return;
  }
  if (!ModuleLoaded(env.fs, m.module)) {
    r->outcome = Outcome::kFailed;
    r->message = "libkmod reported success but /sys/module/" + m.module + " is absent";
    return;
  }
  r->outcome = Outcome::kDone;
}

void WriteFile(Env& env, const act::WriteFile& w, ActionResult* r) {
  auto old = env.fs.Read(w.path);
  if (old.ok() && *old == w.contents) {
    // Same bytes: leave mtime alone (still clears a killed run's temp file).
    (void)env.fs.WriteAtomic(w.path, w.contents, 0644);
    r->outcome = Outcome::kUnchanged;
    return;
  }
  if (Status s = env.fs.WriteAtomic(w.path, w.contents, 0644); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = s.ToString();
    return;
  }
  auto back = env.fs.Read(w.path);
  if (!back.ok() || *back != w.contents) {
    r->outcome = Outcome::kFailed;
    r->message = "read back differs";
    return;
  }
  r->outcome = Outcome::kDone;
  r->message = old.ok() ? "updated" : "created";
}

// Who holds the functions the plan moves, found once per run (a scan of
// every process's open files each). `functions`: address -> "left on
// DRIVER: pid ... has ... open". `groups`: IOMMU groups that cannot move now
// because one of their functions is held -- a group moves as a whole or not
// at all; half a group is of use to nobody. A function already on vfio-pci
// is never touched (BindVfio sees it unchanged), so it needs no check.
struct Holds {
  std::map<inventory::PciAddress, std::string> functions;
  std::map<int, std::string> groups;
};

Holds FindHolds(Fs& fs, const inventory::Inventory& inv, const plan::Plan& plan) {
  Holds holds;
  for (const auto& a : plan.actions) {
    const auto* bind = a.As<act::BindVfio>();
    if (bind == nullptr) continue;
    const inventory::PciAddress& addr = bind->address;
    inventory::PciFunction f;
    if (const auto* known = inv.Find(addr)) f = *known;
    f.address = addr;
    std::string driver = CurrentDriver(fs, addr);
    if (driver.empty() || driver == "vfio-pci") continue;
    f.driver = driver;
    auto holders = FindHolders(fs, f);
    // The inventory could not tell which disks or NICs the host needs: the
    // plan refused such groups; a plan from elsewhere meets the same wall.
    if (std::string unknown = inv.UnknownUseWhy(f.class_id); !unknown.empty()) {
      holders.push_back({0, "unknown", "the host's use of it is unknown (" + unknown + ")"});
    }
    if (holders.empty()) continue;
    std::string why = "left on " + driver + ": ";
    for (size_t i = 0; i < holders.size(); ++i) why += (i ? "; " : "") + Describe(holders[i]);
    holds.functions[addr] = why;
    if (f.iommu_group) holds.groups.emplace(*f.iommu_group, addr.ToString() + " is " + why);
  }
  return holds;
}

// The holders gate: a function in use stays where it is, and the result
// says who uses it.
void BindVfioIfFree(Env& env, const inventory::Inventory& inv, const inventory::PciAddress& addr,
                    const std::string& state_dir, const Holds& holds, ActionResult* r) {
  Fs& fs = env.fs;
  const std::string driver = CurrentDriver(fs, addr);
  // A running VM's device is never touched, whatever the policy says now.
  if (inv.virt.UsedByActiveVm(addr)) {
    std::string vm = inv.virt.OwnerOf(addr);
    if (driver == "vfio-pci") {
      r->outcome = Outcome::kUnchanged;
      r->message = "on vfio-pci, in use by running VM " + vm;
    } else {
      r->outcome = Outcome::kHeld;
      r->message = "in use by running VM " + vm + "; left alone";
    }
    return;
  }
  if (auto h = holds.functions.find(addr); h != holds.functions.end()) {
    r->outcome = Outcome::kHeld;
    r->message = h->second;
    return;
  }
  const auto* f = inv.Find(addr);
  if (f != nullptr && f->iommu_group) {
    if (auto g = holds.groups.find(*f->iommu_group); g != holds.groups.end()) {
      r->outcome = Outcome::kSkipped;
      r->message =
          "IOMMU group " + std::to_string(g->first) + " moves as a whole, and " + g->second;
      return;
    }
  }
  // Written before the bind: a run killed right after it still knows.
  if (driver != "vfio-pci") {
    if (Status s = RecordOriginalDriver(fs, state_dir, addr, driver); !s.ok()) {
      r->outcome = Outcome::kFailed;
      r->message = "cannot record the original driver: " + s.ToString();
      return;
    }
  }
  if (env.detach) {
    BindVfioViaLibvirt(fs, addr, env.detach, r);
  } else {
    BindVfio(fs, addr, r);
  }
}

// The result shows the drivers as the run leaves them, not as inventory
// found them before binding; and a function the run put on vfio-pci that is
// no longer there (a driver's probe raced the bind, a rule rebound it) is an
// error, never a healthy report of work that did not hold.
void ReadDriversBack(const Fs& fs, result::State* st) {
  for (auto& f : st->inventory.functions) {
    std::string now = CurrentDriver(fs, f.address);
    f.driver = now.empty() ? std::nullopt : std::optional<std::string>(now);
  }
  for (const auto& r : st->actions) {
    const auto* bind = r.action.As<act::BindVfio>();
    if (bind == nullptr) continue;
    if (r.outcome != Outcome::kDone && r.outcome != Outcome::kUnchanged) continue;
    const auto* f = st->inventory.Find(bind->address);  // its driver read back just above
    std::string now = f != nullptr ? f->driver.value_or("") : CurrentDriver(fs, bind->address);
    if (now == "vfio-pci") continue;
    st->errors.push_back({bind->address.ToString(),
                          "bind-vfio: on vfio-pci during the run, on '" +
                              (now.empty() ? std::string("no driver") : now) + "' at its end"});
  }
}

std::string Result(const result::State& s) {
  if (!s.errors.empty()) return "failed";
  if (!s.warnings.empty() || !s.kernel_params_missing.empty()) return "degraded";
  return "ok";
}

// What one run knows between its actions.
struct Run {
  const inventory::Inventory& inv;
  Env& env;
  const Options& opts;
  result::State& st;
  Holds holds;
  bool vfio_driver_failed = false;  // binds are skipped then
};

// Actions that change the running system are skipped on a --root tree.
bool SkippedUnlessLive(const Options& opts, ActionResult* r) {
  if (opts.live) return false;
  r->outcome = Outcome::kSkipped;
  r->message = "--root is not the running system";
  return true;
}

// Carries out one action of a run that is not a dry run.
void Carry(Run& run, const plan::Action& a, ActionResult* r) {
  Env& env = run.env;
  const Options& opts = run.opts;
  std::visit(Overload{
                 [&](const act::LoadModule& m) {
                   LoadModule(env, opts, m, r);
                   if (m.module == "vfio_pci" && r->outcome == Outcome::kFailed) {
                     run.vfio_driver_failed = true;
                   }
                 },
                 [&](const act::BindVfio& b) {
                   if (SkippedUnlessLive(opts, r)) return;
                   if (run.vfio_driver_failed) {
                     r->outcome = Outcome::kSkipped;
                     r->message = "vfio_pci could not be loaded";
                     return;
                   }
                   BindVfioIfFree(env, run.inv, b.address, opts.state_dir, run.holds, r);
                 },
                 [&](const act::WriteFile& w) { WriteFile(env, w, r); },
                 [&](const act::SetSysctl& s) {
                   if (SkippedUnlessLive(opts, r)) return;
                   result::Check c;
                   SetSysctl(env.fs, s.key, s.value, r, &c);
                   run.st.checks.push_back(c);
                 },
                 [&](const act::KernelParam&) {},  // a check: Apply judges it, dry run or not
                 [&](const act::UpdateBootloader&) {
                   if (SkippedUnlessLive(opts, r)) return;
                   Status s = env.commands.Run({"/usr/sbin/update-grub"}, 120000);
                   r->outcome = s.ok() ? Outcome::kDone : Outcome::kFailed;
                   r->message = s.ok() ? "" : s.ToString();
                 },
                 [&](const act::RequestReboot&) { RequestReboot(env, opts, a, r, &run.st); },
                 [&](const act::KeepOnHost& k) {
                   if (SkippedUnlessLive(opts, r)) return;
                   ReturnToHost(env.fs, run.inv, opts.state_dir, k.address, r);
                 },
                 [&](const act::Restore&) {
                   r->outcome = Outcome::kFailed;
                   r->message = "restore is not a plan action";
                 },
             },
             a.payload);
}

// The run's errors and warnings from one action's result.
void Record(const Options& opts, const ActionResult& r, result::State* st) {
  const plan::Action& a = r.action;
  const std::string kind = plan::ActionKindName(a.Kind());
  // A function a VM holds stays on vfio-pci: the host just lacks it, so
  // the run is degraded, not failed (a bind it blocks is a failure).
  if (r.outcome == Outcome::kHeld && a.Kind() == ActionKind::kKeepOnHost) {
    st->warnings.push_back({a.Target(), "keep-on-host: " + r.message});
  } else if (result::IsFailure(r.outcome)) {
    st->errors.push_back({a.Target(), kind + ": " + r.message});
  }
  if (r.outcome == Outcome::kSkipped && opts.live) {
    st->warnings.push_back({a.Target(), kind + " skipped: " + r.message});
  }
}

int64_t Micros(std::chrono::steady_clock::duration d) {
  return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
}

}  // namespace

result::State Apply(const inventory::Inventory& inv, const plan::Plan& plan, Env& env,
                    const Options& opts) {
  using Clock = std::chrono::steady_clock;
  result::State st;
  st.started_at = NowRfc3339Utc();
  st.dry_run = opts.dry_run;
  st.inventory = inv;
  st.plan = plan;
  for (const auto& w : inv.warnings) st.warnings.push_back(w);
  for (const auto& w : plan.warnings) st.warnings.push_back(w);
  auto start = Clock::now();
  Run run{inv, env, opts, st, {}, false};
  if (opts.live && !opts.dry_run) run.holds = FindHolds(env.fs, inv, plan);
  for (const auto& a : plan.actions) {
    ActionResult r;
    r.action = a;
    auto t0 = Clock::now();
    if (const auto* param = a.As<act::KernelParam>()) {
      // A check, not a change: the same in dry runs.
      const bool present = param->state == plan::ParamState::kPresent;
      r.outcome = present ? Outcome::kUnchanged : Outcome::kMissing;
      if (!present) st.kernel_params_missing.push_back(param->param);
    } else if (opts.dry_run) {
      r.outcome = Outcome::kDryRun;
    } else {
      Carry(run, a, &r);
    }
    r.duration_us = Micros(Clock::now() - t0);
    Record(opts, r, &st);
    if (env.on_action) env.on_action(r);
    st.actions.push_back(std::move(r));
  }
  if (opts.live && !opts.dry_run) ReadDriversBack(env.fs, &st);
  st.timings_us["apply"] = Micros(Clock::now() - start);
  st.finished_at = NowRfc3339Utc();
  st.result = Result(st);
  return st;
}

}  // namespace gpuhost::apply
