#include "plan/json.h"

#include <optional>

#include "inventory/json_reader.h"

namespace gpuhost::plan {
namespace {

using inventory::JsonReader;
using nlohmann::json;

constexpr ActionKind kKinds[] = {ActionKind::kLoadModule,    ActionKind::kBindVfio,
                                 ActionKind::kWriteFile,     ActionKind::kSetSysctl,
                                 ActionKind::kKernelParam,   ActionKind::kUpdateBootloader,
                                 ActionKind::kRequestReboot, ActionKind::kKeepOnHost};

// The field when it is an array; anything else is an error, not "empty".
const json* Array(JsonReader& r, const json& j, const char* key) {
  const json* v = r.Field(j, key);
  if (v != nullptr && !v->is_array()) return r.Fail<const json*>(key, "an array");
  return v;
}

json Addrs(const std::vector<PciAddress>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.ToString());
  return a;
}

// The payload of a `kind` action from its "target" and "value" strings.
ActionPayload ReadPayload(JsonReader& r, ActionKind kind, const std::string& target,
                          const std::string& value) {
  // Kinds whose value is always empty: anything else is not theirs.
  auto no_value = [&] {
    if (!value.empty()) r.Fail<int>("value", "empty for this kind");
  };
  switch (kind) {
    case ActionKind::kLoadModule:
      return act::LoadModule{target, value};
    case ActionKind::kBindVfio:
      return act::BindVfio{r.Addr(target, "target"), value};
    case ActionKind::kWriteFile:
      return act::WriteFile{target, value};
    case ActionKind::kSetSysctl:
      return act::SetSysctl{target, value};
    case ActionKind::kKernelParam:
      if (value == ParamStateName(ParamState::kPresent)) {
        return act::KernelParam{target, ParamState::kPresent};
      }
      if (value != ParamStateName(ParamState::kMissing)) {
        r.Fail<int>("value", "\"present\" or \"missing\"");
      }
      return act::KernelParam{target, ParamState::kMissing};
    case ActionKind::kUpdateBootloader:
      no_value();
      return act::UpdateBootloader{target};
    case ActionKind::kRequestReboot:
      no_value();
      return act::RequestReboot{target};
    case ActionKind::kKeepOnHost:
      return act::KeepOnHost{r.Addr(target, "target"), value};
  }
  return act::LoadModule{};
}

Action ReadAction(JsonReader& r, const json& j) {
  Action a;
  std::string kind = r.Str(j, "kind");
  std::optional<ActionKind> known;
  for (ActionKind k : kKinds) {
    if (kind == ActionKindName(k)) known = k;
  }
  if (!known && r.status().ok()) r.Fail<int>("kind", "a known action kind");
  std::string target = r.Str(j, "target");
  std::string value = r.Str(j, "value");
  if (known && r.status().ok()) a.payload = ReadPayload(r, *known, target, value);
  a.reason = r.Str(j, "reason");
  return a;
}

json Decisions(const std::vector<GpuDecision>& ds) {
  json out = json::array();
  for (const auto& g : ds) {
    out.push_back({{"gpu", g.gpu.ToString()},
                   {"functions", Addrs(g.functions)},
                   {"assignment", AssignmentName(g.assignment)},
                   {"rule", g.rule},
                   {"reason", g.reason},
                   {"one_start_per_boot", g.one_start_per_boot}});
  }
  return out;
}

std::vector<GpuDecision> ReadDecisions(JsonReader& r, const json& j, const char* key) {
  std::vector<GpuDecision> out;
  if (const json* gs = Array(r, j, key)) {
    for (const auto& e : *gs) {
      GpuDecision g;
      g.gpu = r.Addr(r.Str(e, "gpu"), "gpu");
      g.functions = r.AddrArray(e, "functions");
      std::string as = r.Str(e, "assignment");
      if (as == "vfio") {
        g.assignment = Assignment::kVfio;
      } else if (as != "host" && r.status().ok()) {
        r.Fail<int>("assignment", "\"host\" or \"vfio\"");
      }
      g.rule = r.Str(e, "rule");
      g.reason = r.Str(e, "reason");
      g.one_start_per_boot = r.Bool(e, "one_start_per_boot");
      out.push_back(std::move(g));
    }
  }
  return out;
}

}  // namespace

json ToJson(const Action& a) {
  return {{"kind", ActionKindName(a.Kind())},
          {"target", a.Target()},
          {"value", a.Value()},
          {"reason", a.reason}};
}

json ToJson(const Plan& p) {
  json gpus = Decisions(p.gpus);
  json actions = json::array();
  for (const auto& a : p.actions) actions.push_back(ToJson(a));
  json warnings = json::array();
  for (const auto& w : p.warnings) warnings.push_back({{"where", w.where}, {"message", w.message}});
  return {{"gpus", gpus},
          {"devices", Decisions(p.devices)},
          {"actions", actions},
          {"kernel_params", p.kernel_params},
          {"warnings", warnings}};
}

Result<Action> ActionFromJson(const json& j) {
  JsonReader r("action");
  Action a = ReadAction(r, j);
  if (!r.status().ok()) return r.status();
  return a;
}

Result<Plan> PlanFromJson(const json& j) {
  JsonReader r("plan");
  Plan p;
  p.gpus = ReadDecisions(r, j, "gpus");
  if (j.contains("devices")) p.devices = ReadDecisions(r, j, "devices");
  if (const json* as = Array(r, j, "actions")) {
    for (const auto& e : *as) p.actions.push_back(ReadAction(r, e));
  }
  p.kernel_params = r.StrArray(j, "kernel_params");
  if (const json* ws = Array(r, j, "warnings")) {
    for (const auto& e : *ws) p.warnings.push_back({r.Str(e, "where"), r.Str(e, "message")});
  }
  if (!r.status().ok()) return r.status();
  return p;
}

}  // namespace gpuhost::plan
