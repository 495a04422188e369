#include "run/agent_run.h"

#include <systemd/sd-daemon.h>

#include <chrono>
#include <cstdio>

#include "apply/apply.h"
#include "inventory/inventory.h"
#include "libvirt/virt.h"
#include "plan/plan.h"
#include "plan/policy.h"
#include "report/journal.h"
#include "report/state.h"

#ifndef GPUHOST_VERSION
#define GPUHOST_VERSION "dev"
#endif

namespace gpuhost::run {
namespace {

using Clock = std::chrono::steady_clock;

int64_t Since(Clock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - t0).count();
}

std::string Summary(const report::State& s) {
  int changed = 0, unchanged = 0, failed = 0, skipped = 0, held = 0;
  for (const auto& a : s.actions) {
    if (a.outcome == "done") changed++;
    if (a.outcome == "unchanged") unchanged++;
    if (a.outcome == "failed") failed++;
    if (a.outcome == "held") held++;
    if (a.outcome == "skipped" || a.outcome == "missing") skipped++;
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

}  // namespace

int RunAgent(const RunOptions& opts) {
  auto t_total = Clock::now();
  RootFs fs(opts.root);
  const bool live = fs.root().empty();
  // Devices still getting their drivers would be inventoried half-way and
  // moved under udev's feet: wait for the coldplug to finish first.
  if (live) {
    RealCommandRunner settle;
    sd_notify(0, "STATUS=waiting for udev to settle");
    if (Status s = settle.Run({"udevadm", "settle", "--timeout=60"}, 70000); !s.ok()) {
      std::fprintf(stderr, "gpuhost-agent apply: udevadm settle: %s (going on)\n",
                   s.ToString().c_str());
    }
  }
  sd_notify(0, "STATUS=inventory");
  auto t0 = Clock::now();
  inventory::Inventory inv;
  Status inv_status = inventory::Collect(fs, {}, &inv);
  // libvirt describes the running system only; a --root tree has no VMs.
  // At boot the agent runs before libvirtd, whose sockets are socket-
  // activated: connecting would wait for a daemon that waits for us. So only
  // a libvirtd (or virtqemud) that is already running is asked.
  std::unique_ptr<virt::Connection> libvirt;
  if (live) {
    libvirt = virt::Connect(&inv, {"qemu:///system", /*read_only=*/false, virt::DaemonRunning()});
  } else {
    virt::JudgeKvm(&inv);
  }
  int64_t inv_us = Since(t0);

  report::State st;
  auto policy = plan::LoadPolicy(fs, opts.policy_file, opts.credentials_dir);
  plan::Plan p;
  int64_t plan_us = 0;
  if (!policy.ok()) {
    st.inventory = inv;
    st.result = "failed";
    st.errors.push_back({"policy", policy.status().message()});
  } else {
    sd_notify(0, "STATUS=plan");
    t0 = Clock::now();
    p = plan::MakePlan(inv, *policy);
    plan_us = Since(t0);
    sd_notify(0, "STATUS=apply");
    std::unique_ptr<ModuleLoader> modules;
    if (live) {
      modules = std::make_unique<KmodLoader>();
    } else {
      modules = std::make_unique<OfflineModuleLoader>(fs, inv.system.kernel_release);
    }
    RealCommandRunner commands;
    apply::Env env{fs, *modules, commands, report::JournalAction, nullptr};
    if (libvirt) {
      // With libvirtd running, binds go through it so its view stays right.
      env.detach = [&libvirt](const inventory::PciAddress& a) { return libvirt->DetachToVfio(a); };
    }
    apply::Options ao;
    ao.dry_run = opts.dry_run;
    ao.live = live;
    ao.reboot_when_needed = policy->reboot_when_needed;
    ao.state_dir = opts.state_dir;
    st = apply::Apply(inv, p, env, ao);
  }
  if (!inv_status.ok()) {
    st.errors.push_back({"inventory", inv_status.ToString()});
    st.result = "failed";
  }
  st.agent_version = GPUHOST_VERSION;
  st.timings_us["inventory"] = inv_us;
  st.timings_us["plan"] = plan_us;
  st.timings_us["total"] = Since(t_total);
  report::JournalResult(st);
  std::string json = report::StateToJson(st).dump(2) + "\n";
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
  if (!inv_status.ok() && inv.functions.empty()) return 2;
  return st.result == "failed" ? 1 : 0;
}

}  // namespace gpuhost::run
