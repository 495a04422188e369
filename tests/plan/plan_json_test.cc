// PlanFromJson reads a plan back (state.json): wrong types anywhere are an
// Invalid status naming the field, never an exception out of nlohmann.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "plan/json.h"

namespace gpuhost::plan {
namespace {

using nlohmann::json;

TEST(PlanJsonTest, WrongTypesAreErrorsNotExceptions) {
  const json good = {{"gpus", json::array()},
                     {"devices", json::array()},
                     {"actions", json::array()},
                     {"kernel_params", json::array()},
                     {"warnings", json::array()}};
  ASSERT_TRUE(PlanFromJson(good).ok());
  const std::vector<std::pair<std::string, json>> bad = {
      {"gpus", nullptr},
      {"gpus", json::array({nullptr})},
      {"gpus", json::array({{{"gpu", 5}}})},
      {"devices", json::array({json::array()})},
      {"actions", json::array({{{"kind", nullptr}}})},
      {"actions", json::array({{{"kind", "load-module"}, {"target", json::object()}}})},
      {"kernel_params", json::object()},
      {"kernel_params", json::array({1})},
      {"warnings", json::array({{{"where", true}, {"message", "m"}}})},
  };
  for (const auto& [key, value] : bad) {
    json j = good;
    j[key] = value;
    Result<Plan> p = Plan();
    ASSERT_NO_THROW(p = PlanFromJson(j)) << j.dump();
    EXPECT_FALSE(p.ok()) << j.dump();
  }
  for (const json& j : {json(nullptr), json::array(), json("plan"), json(1)}) {
    Result<Plan> p = Plan();
    ASSERT_NO_THROW(p = PlanFromJson(j)) << j.dump();
    EXPECT_FALSE(p.ok()) << j.dump();
    Result<Action> a = Action();
    ASSERT_NO_THROW(a = ActionFromJson(j)) << j.dump();
    EXPECT_FALSE(a.ok()) << j.dump();
  }
}

}  // namespace
}  // namespace gpuhost::plan
