#include "result/state.h"

#include "inventory/json.h"
#include "inventory/json_reader.h"
#include "plan/json.h"

namespace gpuhost::result {
namespace {

using inventory::JsonReader;
using nlohmann::json;

json Warnings(const std::vector<inventory::Warning>& ws) {
  json a = json::array();
  for (const auto& w : ws) a.push_back({{"where", w.where}, {"message", w.message}});
  return a;
}

std::vector<inventory::Warning> ReadWarnings(JsonReader& r, const json& j, const char* key) {
  std::vector<inventory::Warning> out;
  if (const json* ws = r.Field(j, key); ws && ws->is_array()) {
    for (const auto& e : *ws) out.push_back({r.Str(e, "where"), r.Str(e, "message")});
  }
  return out;
}

}  // namespace

json ToJson(const ActionResult& a) {
  json j = plan::ToJson(a.action);
  j["outcome"] = ToString(a.outcome);
  j["message"] = a.message;
  j["duration_us"] = a.duration_us;
  return j;
}

json StateToJson(const State& s) {
  json actions = json::array();
  for (const auto& a : s.actions) actions.push_back(ToJson(a));
  json checks = json::array();
  for (const auto& c : s.checks) {
    checks.push_back({{"name", c.name}, {"wanted", c.wanted}, {"actual", c.actual}, {"ok", c.ok}});
  }
  return {
      {"schema_version", kStateSchemaVersion},
      {"agent_version", s.agent_version},
      {"boot_id", s.boot_id},
      {"run_id", s.run_id},
      {"started_at", s.started_at},
      {"finished_at", s.finished_at},
      {"result", s.result},
      {"dry_run", s.dry_run},
      {"inventory", inventory::ToJson(s.inventory)},
      {"plan", plan::ToJson(s.plan)},
      {"actions", actions},
      {"checks", checks},
      {"kernel_params_missing", s.kernel_params_missing},
      {"reboot_requested", s.reboot_requested},
      {"warnings", Warnings(s.warnings)},
      {"errors", Warnings(s.errors)},
      {"timings_us", s.timings_us},
      {"policy", s.policy.source.empty() && s.policy.url_template.empty()
                     ? json(nullptr)
                     : fleet::ToJson(s.policy)},
      {"boot", s.boot ? boot::ToJson(*s.boot) : json(nullptr)},
  };
}

Result<State> StateFromJson(const json& j) {
  JsonReader r("state");
  State s;
  if (r.Uint(j, "schema_version") != static_cast<uint64_t>(kStateSchemaVersion) &&
      r.status().ok()) {
    return Status::Invalid("state: unsupported schema_version");
  }
  s.agent_version = r.Str(j, "agent_version");
  // Absent from files of older agents: read as unknown, never as this boot.
  if (j.contains("boot_id")) s.boot_id = r.Str(j, "boot_id");
  if (j.contains("run_id")) s.run_id = r.Str(j, "run_id");
  s.started_at = r.Str(j, "started_at");
  s.finished_at = r.Str(j, "finished_at");
  s.result = r.Str(j, "result");
  s.dry_run = r.Bool(j, "dry_run");
  if (!r.status().ok()) return r.status();
  if (const json* inv = r.Field(j, "inventory")) {
    auto i = inventory::InventoryFromJson(*inv);
    if (!i.ok()) return i.status();
    s.inventory = std::move(*i);
  }
  if (const json* p = r.Field(j, "plan")) {
    auto pl = plan::PlanFromJson(*p);
    if (!pl.ok()) return pl.status();
    s.plan = std::move(*pl);
  }
  if (const json* as = r.Field(j, "actions"); as && as->is_array()) {
    for (const auto& e : *as) {
      auto a = plan::ActionFromJson(e);
      if (!a.ok()) return a.status();
      ActionResult ar;
      ar.action = *a;
      std::string outcome = r.Str(e, "outcome");
      if (auto o = OutcomeFromString(outcome)) {
        ar.outcome = *o;
      } else if (r.status().ok()) {
        r.Fail<int>("outcome", "a known outcome");
      }
      ar.message = r.Str(e, "message");
      ar.duration_us = static_cast<int64_t>(r.Uint(e, "duration_us"));
      s.actions.push_back(std::move(ar));
    }
  }
  if (const json* cs = r.Field(j, "checks"); cs && cs->is_array()) {
    for (const auto& e : *cs) {
      s.checks.push_back(
          {r.Str(e, "name"), r.Str(e, "wanted"), r.Str(e, "actual"), r.Bool(e, "ok")});
    }
  }
  s.kernel_params_missing = r.StrArray(j, "kernel_params_missing");
  s.reboot_requested = r.Bool(j, "reboot_requested");
  s.warnings = ReadWarnings(r, j, "warnings");
  s.errors = ReadWarnings(r, j, "errors");
  if (const json* t = r.Field(j, "timings_us"); t && t->is_object()) {
    for (const auto& [k, v] : t->items()) {
      if (!v.is_number_integer())
        return Status::Invalid("state: timings_us." + k + " must be an integer");
      s.timings_us[k] = v.get<int64_t>();
    }
  }
  if (j.contains("policy") && !j.at("policy").is_null()) {  // absent from older files
    auto origin = fleet::PolicyOriginFromJson(j.at("policy"));
    if (!origin.ok()) return origin.status();
    s.policy = std::move(*origin);
  }
  if (j.contains("boot") && !j.at("boot").is_null()) {  // absent from older files
    auto b = boot::BootStateFromJson(j.at("boot"));
    if (!b.ok()) return Status::Invalid("state: " + b.status().message());
    s.boot = std::move(*b);
  }
  if (!r.status().ok()) return r.status();
  return s;
}

}  // namespace gpuhost::result
