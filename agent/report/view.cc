#include "report/view.h"

#include <algorithm>
#include <map>

#include "base/strings.h"
#include "inventory/redact.h"
#include "report/freshness.h"

namespace gpuhost::report {
namespace {

constexpr std::string_view kModuleCheck = "module ";

const ActionResult* FirstFailed(const State& s) {
  for (const auto& a : s.actions) {
    if (a.outcome == Outcome::kFailed) return &a;
  }
  return nullptr;
}

std::string Describe(const ActionResult& a) {
  std::string d = std::string(plan::ActionKindName(a.action.Kind())) + " " + a.action.Target();
  return a.message.empty() ? d + " failed" : d + " failed: " + a.message;
}

std::string Describe(const inventory::Warning& w) {
  return w.where.empty() ? w.message : w.where + ": " + w.message;
}

}  // namespace

Health Evaluate(const View& v) {
  // Nothing stale is shown as current: freshness comes before the result.
  Freshness fresh = JudgeFreshness(v);
  if (fresh.kind == Freshness::Kind::kUnfinished) return {503, "unfinished", fresh.reason};
  switch (v.source) {
    case View::Source::kMissing:
      return {503, "no-state", "no state yet: the agent has not finished a run"};
    case View::Source::kInvalid:
      // Read errors already name the file ("open PATH: Permission denied").
      if (v.load_error.find(v.state_path) != std::string::npos) {
        return {503, "invalid-state", v.load_error};
      }
      return {503, "invalid-state", v.state_path + ": " + v.load_error};
    case View::Source::kLoaded:
      break;
  }
  if (fresh.kind != Freshness::Kind::kCurrent) return {503, "stale", fresh.reason};
  const State& s = *v.state;
  const ActionResult* failed = FirstFailed(s);
  if (!s.errors.empty()) return {503, "failed", Describe(s.errors.front())};
  if (failed != nullptr) return {503, "failed", Describe(*failed)};
  if (s.result == "failed") return {503, "failed", "the last run failed"};
  if (s.result == "ok") return {200, "ok", s.dry_run ? "dry run: nothing was changed" : ""};
  if (s.result == "degraded") {
    auto ws = AllWarnings(s);
    std::string why = ws.empty() ? std::string("see the page") : Describe(ws.front());
    if (ws.size() > 1) why += " (and " + std::to_string(ws.size() - 1) + " more warnings)";
    return {200, "degraded", why};
  }
  return {503, "failed", "unknown result '" + s.result + "'"};
}

std::vector<GpuRow> GpuRows(const State& s) {
  std::vector<GpuRow> rows;
  for (const auto& g : s.inventory.gpus) {
    GpuRow r;
    r.gpu = &g;
    for (const auto& d : s.plan.gpus) {
      if (d.gpu == g.address) r.decision = &d;
    }
    const auto* f = s.inventory.Find(g.address);
    if (f != nullptr && f->driver) r.driver = *f->driver;
    std::string model = g.model;
    if (model.empty() && f != nullptr) {  // as lspci names a device pci.ids does not know
      model = "Device " + (g.vendor_name.empty() ? Hex(f->vendor_id, 4) + ":" : "") +
              Hex(f->device_id, 4);
    }
    r.model = g.vendor_name.empty() ? model : g.vendor_name + " " + model;
    r.assignment = r.decision ? plan::AssignmentName(r.decision->assignment) : "undecided";
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> CmdlineWords(const std::string& cmdline) {
  std::vector<std::string> words;
  for (auto& w : Split(cmdline, ' ')) {
    std::string t(Trim(w));
    if (t == "--") break;  // the rest is for init, not the kernel
    if (!t.empty()) words.push_back(std::move(t));
  }
  return words;
}

std::vector<KernelParamRow> KernelParamRows(const State& s) {
  // Compared as state.json holds the line, secrets hidden (inventory/redact.h): a
  // wanted rd.luks.key=FILE counts by its hidden form. apply compared the real
  // line (kernel_params_missing).
  auto words = CmdlineWords(inventory::RedactCmdline(s.inventory.system.cmdline));
  std::vector<KernelParamRow> rows;
  for (const auto& p : s.plan.kernel_params) {
    bool listed_missing = std::find(s.kernel_params_missing.begin(), s.kernel_params_missing.end(),
                                    p) != s.kernel_params_missing.end();
    std::string shown = inventory::RedactCmdline(p);
    bool on_cmdline = std::find(words.begin(), words.end(), shown) != words.end();
    rows.push_back({p, on_cmdline && !listed_missing});
  }
  // A parameter apply found missing that the plan no longer lists still counts.
  for (const auto& p : s.kernel_params_missing) {
    bool known = std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r.param == p; });
    if (!known) rows.push_back({p, false});
  }
  return rows;
}

std::vector<ModuleRow> ModuleRows(const State& s) {
  std::vector<ModuleRow> rows;
  for (const auto& a : s.actions) {
    const auto* load = a.action.As<plan::act::LoadModule>();
    if (load == nullptr) continue;
    rows.push_back({load->module, load->options, a.outcome, a.message, nullptr});
  }
  // Planned but not (yet) applied, e.g. a state written before apply ran.
  for (const auto& a : s.plan.actions) {
    const auto* load = a.As<plan::act::LoadModule>();
    if (load == nullptr) continue;
    bool known = std::any_of(rows.begin(), rows.end(),
                             [&](const auto& r) { return r.name == load->module; });
    if (!known) rows.push_back({load->module, load->options, std::nullopt, "", nullptr});
  }
  for (const auto& c : s.checks) {
    if (!StartsWith(c.name, kModuleCheck)) continue;
    std::string name = c.name.substr(kModuleCheck.size());
    auto it = std::find_if(rows.begin(), rows.end(), [&](const auto& r) { return r.name == name; });
    if (it == rows.end()) {
      rows.push_back({name, "", std::nullopt, "", &c});
    } else {
      it->check = &c;
    }
  }
  return rows;
}

std::vector<const Check*> OtherChecks(const State& s) {
  std::vector<const Check*> out;
  for (const auto& c : s.checks) {
    if (!StartsWith(c.name, kModuleCheck)) out.push_back(&c);
  }
  return out;
}

std::vector<inventory::Warning> AllWarnings(const State& s) {
  std::vector<inventory::Warning> out;
  auto add = [&](const std::vector<inventory::Warning>& ws) {
    for (const auto& w : ws) {
      bool seen = std::any_of(out.begin(), out.end(), [&](const auto& o) {
        return o.where == w.where && o.message == w.message;
      });
      if (!seen) out.push_back(w);
    }
  };
  add(s.warnings);
  add(s.plan.warnings);
  add(s.inventory.warnings);
  return out;
}

std::vector<std::pair<std::string, int>> OutcomeCounts(const State& s) {
  std::map<std::string, int> counts;
  for (const auto& a : s.actions) ++counts[ToString(a.outcome)];
  return {counts.begin(), counts.end()};
}

const boot::Verdict* ThisBootVerdict(const View& v) {
  std::string boot = v.state ? v.state->boot_id : v.boot_id;
  if (boot.empty()) return nullptr;
  for (auto it = v.verdicts.rbegin(); it != v.verdicts.rend(); ++it) {
    if (it->boot_id == boot) return &*it;
  }
  return nullptr;
}

std::optional<boot::BootState> EffectiveBootState(const View& v) {
  if (!v.state || !v.state->boot) return std::nullopt;
  boot::BootState b = *v.state->boot;
  const boot::Verdict* verdict = ThisBootVerdict(v);
  if (b.status != "on-trial" || verdict == nullptr || !verdict->blessed) return b;
  b.status = "blessed";
  b.summary = "Version " + b.running_version + " was blessed on this boot at " + verdict->at +
              ": its agent run was healthy, so systemd-bless-boot keeps it.";
  for (auto& i : b.installed) {
    if (i.version != b.running_version) continue;
    i.state = boot::UkiState::kGood;
    i.tries_left.reset();
    i.tries_done = 0;
    // The file systemd-bless-boot renamed it to: the counter dropped.
    if (size_t plus = i.file.rfind('+'); plus != std::string::npos && i.file.ends_with(".efi")) {
      i.file = i.file.substr(0, plus) + ".efi";
    }
  }
  return b;
}

}  // namespace gpuhost::report
