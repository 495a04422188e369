#include "apply/apply.h"

#include <chrono>
#include <map>

#include "apply/holders.h"
#include "apply/reboot_guard.h"
#include "apply/restore.h"
#include "base/clock.h"
#include "base/strings.h"

namespace gpuhost::apply {
namespace {

using plan::ActionKind;
using report::ActionResult;

bool ModuleLoaded(const Fs& fs, const std::string& name) {
  std::string n = name;
  for (char& c : n) c = c == '-' ? '_' : c;
  return fs.Exists("/sys/module/" + n);
}

void LoadModule(Env& env, const Options& opts, const plan::Action& a, ActionResult* r) {
  if (ModuleLoaded(env.fs, a.target)) {
    r->outcome = "unchanged";
    r->message = "loaded";
    return;
  }
  Status s = env.modules.Load(a.target, a.value);
  if (!s.ok()) {
    // --root: the module exists but is not for this kernel to load.
    r->outcome = (!opts.live && s.code() == Status::Code::kUnsupported) ? "skipped" : "failed";
    r->message = s.ToString();
    return;
  }
  if (!ModuleLoaded(env.fs, a.target)) {
    r->outcome = "failed";
    r->message = "libkmod reported success but /sys/module/" + a.target + " is absent";
    return;
  }
  r->outcome = "done";
}

void WriteFile(Env& env, const plan::Action& a, ActionResult* r) {
  auto old = env.fs.Read(a.target);
  if (old.ok() && *old == a.value) {
    // Same bytes: leave mtime alone (still clears a killed run's temp file).
    (void)env.fs.WriteAtomic(a.target, a.value, 0644);
    r->outcome = "unchanged";
    return;
  }
  if (Status s = env.fs.WriteAtomic(a.target, a.value, 0644); !s.ok()) {
    r->outcome = "failed";
    r->message = s.ToString();
    return;
  }
  auto back = env.fs.Read(a.target);
  if (!back.ok() || *back != a.value) {
    r->outcome = "failed";
    r->message = "read back differs";
    return;
  }
  r->outcome = "done";
  r->message = old.ok() ? "updated" : "created";
}

// Who holds the functions the plan moves, found once per run (a scan of
// every process's open files each). `functions`: address -> "left on
// DRIVER: pid ... has ... open". `groups`: IOMMU groups that cannot move now
// because one of their functions is held -- a group moves as a whole or not
// at all; half a group is of use to nobody. A function already on vfio-pci
// is never touched (BindVfio sees it unchanged), so it needs no check.
struct Holds {
  std::map<std::string, std::string> functions;
  std::map<int, std::string> groups;
};

Holds FindHolds(Fs& fs, const inventory::Inventory& inv, const plan::Plan& plan) {
  Holds holds;
  for (const auto& a : plan.actions) {
    if (a.kind != ActionKind::kBindVfio) continue;
    auto addr = inventory::PciAddress::Parse(a.target);
    if (!addr) continue;
    inventory::PciFunction f;
    if (const auto* known = inv.Find(*addr)) f = *known;
    f.address = *addr;
    std::string driver = CurrentDriver(fs, *addr);
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
    holds.functions[a.target] = why;
    if (f.iommu_group) holds.groups.emplace(*f.iommu_group, a.target + " is " + why);
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
      r->outcome = "unchanged";
      r->message = "on vfio-pci, in use by running VM " + vm;
    } else {
      r->outcome = "held";
      r->message = "in use by running VM " + vm + "; left alone";
    }
    return;
  }
  if (auto h = holds.functions.find(addr.ToString()); h != holds.functions.end()) {
    r->outcome = "held";
    r->message = h->second;
    return;
  }
  const auto* f = inv.Find(addr);
  if (f != nullptr && f->iommu_group) {
    if (auto g = holds.groups.find(*f->iommu_group); g != holds.groups.end()) {
      r->outcome = "skipped";
      r->message =
          "IOMMU group " + std::to_string(g->first) + " moves as a whole, and " + g->second;
      return;
    }
  }
  // Written before the bind: a run killed right after it still knows.
  if (driver != "vfio-pci") {
    if (Status s = RecordOriginalDriver(fs, state_dir, addr, driver); !s.ok()) {
      r->outcome = "failed";
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
void ReadDriversBack(const Fs& fs, report::State* st) {
  for (auto& f : st->inventory.functions) {
    std::string now = CurrentDriver(fs, f.address);
    f.driver = now.empty() ? std::nullopt : std::optional<std::string>(now);
  }
  for (const auto& r : st->actions) {
    if (r.action.kind != ActionKind::kBindVfio) continue;
    if (r.outcome != "done" && r.outcome != "unchanged") continue;
    auto addr = inventory::PciAddress::Parse(r.action.target);
    if (!addr) continue;
    const auto* f = st->inventory.Find(*addr);  // its driver read back just above
    std::string now = f != nullptr ? f->driver.value_or("") : CurrentDriver(fs, *addr);
    if (now == "vfio-pci") continue;
    st->errors.push_back({r.action.target, "bind-vfio: on vfio-pci during the run, on '" +
                                               (now.empty() ? std::string("no driver") : now) +
                                               "' at its end"});
  }
}

std::string Result(const report::State& s) {
  if (!s.errors.empty()) return "failed";
  if (!s.warnings.empty() || !s.kernel_params_missing.empty()) return "degraded";
  return "ok";
}

}  // namespace

report::State Apply(const inventory::Inventory& inv, const plan::Plan& plan, Env& env,
                    const Options& opts) {
  using Clock = std::chrono::steady_clock;
  report::State st;
  st.started_at = NowRfc3339Utc();
  st.dry_run = opts.dry_run;
  st.inventory = inv;
  st.plan = plan;
  for (const auto& w : inv.warnings) st.warnings.push_back(w);
  for (const auto& w : plan.warnings) st.warnings.push_back(w);
  auto start = Clock::now();
  bool vfio_driver_failed = false;
  std::vector<std::string> missing;
  Holds holds;
  if (opts.live && !opts.dry_run) holds = FindHolds(env.fs, inv, plan);
  for (const auto& a : plan.actions) {
    ActionResult r;
    r.action = a;
    auto t0 = Clock::now();
    if (a.kind == ActionKind::kKernelParam) {
      // A check, not a change: the same in dry runs.
      r.outcome = a.value == "present" ? "unchanged" : "missing";
      if (a.value != "present") missing.push_back(a.target);
    } else if (opts.dry_run) {
      r.outcome = "dry-run";
    } else {
      switch (a.kind) {
        case ActionKind::kLoadModule:
          LoadModule(env, opts, a, &r);
          if (a.target == "vfio_pci" && r.outcome == "failed") vfio_driver_failed = true;
          break;
        case ActionKind::kBindVfio:
          if (!opts.live) {
            r.outcome = "skipped";
            r.message = "--root is not the running system";
          } else if (vfio_driver_failed) {
            r.outcome = "skipped";
            r.message = "vfio_pci could not be loaded";
          } else {
            auto addr = inventory::PciAddress::Parse(a.target);
            BindVfioIfFree(env, inv, *addr, opts.state_dir, holds, &r);
          }
          break;
        case ActionKind::kWriteFile:
          WriteFile(env, a, &r);
          break;
        case ActionKind::kSetSysctl: {
          if (!opts.live) {
            r.outcome = "skipped";
            r.message = "--root is not the running system";
            break;
          }
          report::Check c;
          SetSysctl(env.fs, a.target, a.value, &r, &c);
          st.checks.push_back(c);
          break;
        }
        case ActionKind::kUpdateBootloader:
          if (!opts.live) {
            r.outcome = "skipped";
            r.message = "--root is not the running system";
          } else if (Status s = env.commands.Run({"/usr/sbin/update-grub"}, 120000); !s.ok()) {
            r.outcome = "failed";
            r.message = s.ToString();
          } else {
            r.outcome = "done";
          }
          break;
        case ActionKind::kRequestReboot:
          RequestReboot(env, opts, a, &r, &st);
          break;
        case ActionKind::kKeepOnHost:
          if (!opts.live) {
            r.outcome = "skipped";
            r.message = "--root is not the running system";
          } else {
            ReturnToHost(env.fs, inv, opts.state_dir, *inventory::PciAddress::Parse(a.target), &r);
          }
          break;
        case ActionKind::kKernelParam:
          break;
      }
    }
    r.duration_us =
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
    // A function a VM holds stays on vfio-pci: the host just lacks it, so
    // the run is degraded, not failed (a bind it blocks is a failure).
    if (r.outcome == "held" && a.kind == ActionKind::kKeepOnHost) {
      st.warnings.push_back({a.target, "keep-on-host: " + r.message});
    } else if (r.outcome == "failed" || r.outcome == "held") {
      st.errors.push_back({a.target, std::string(plan::ActionKindName(a.kind)) + ": " + r.message});
    }
    if (r.outcome == "skipped" && opts.live) {
      st.warnings.push_back(
          {a.target, std::string(plan::ActionKindName(a.kind)) + " skipped: " + r.message});
    }
    if (env.on_action) env.on_action(r);
    st.actions.push_back(std::move(r));
  }
  if (opts.live && !opts.dry_run) ReadDriversBack(env.fs, &st);
  st.kernel_params_missing = missing;
  st.timings_us["apply"] =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
  st.finished_at = NowRfc3339Utc();
  st.result = Result(st);
  return st;
}

}  // namespace gpuhost::apply
