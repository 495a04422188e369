// JSON form of a plan (part of state.json and `plan --json`).
#pragma once

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "plan/model.h"

namespace gpuhost::plan {

nlohmann::json ToJson(const Action& a);
nlohmann::json ToJson(const Plan& p);
Result<Action> ActionFromJson(const nlohmann::json& j);
Result<Plan> PlanFromJson(const nlohmann::json& j);

}  // namespace gpuhost::plan
