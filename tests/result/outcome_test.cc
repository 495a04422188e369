// Outcomes are an enum with one home for their names: every name reads back
// as its outcome, the names are the result file's, and any other text is
// no outcome (the result file reader then says which field is wrong).
#include "result/outcome.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "result/state.h"

namespace gpuhost::result {
namespace {

TEST(OutcomeTest, EveryOutcomeRoundTripsThroughItsName) {
  std::set<std::string> names;
  for (Outcome o : kAllOutcomes) {
    const std::string name = ToString(o);
    EXPECT_TRUE(names.insert(name).second) << "two outcomes named " << name;
    ASSERT_TRUE(OutcomeFromString(name).has_value()) << name;
    EXPECT_EQ(*OutcomeFromString(name), o) << name;
  }
  EXPECT_EQ(names.size(), 7u);
}

TEST(OutcomeTest, NamesAreTheResultFilesNames) {
  EXPECT_STREQ(ToString(Outcome::kDone), "done");
  EXPECT_STREQ(ToString(Outcome::kUnchanged), "unchanged");
  EXPECT_STREQ(ToString(Outcome::kFailed), "failed");
  EXPECT_STREQ(ToString(Outcome::kSkipped), "skipped");
  EXPECT_STREQ(ToString(Outcome::kHeld), "held");
  EXPECT_STREQ(ToString(Outcome::kMissing), "missing");
  EXPECT_STREQ(ToString(Outcome::kDryRun), "dry-run");
  std::ostringstream os;
  os << Outcome::kDryRun;
  EXPECT_EQ(os.str(), "dry-run");
}

TEST(OutcomeTest, OtherTextIsNoOutcome) {
  for (const char* text : {"", "Done", "done ", "dry_run", "ok", "unknown"}) {
    EXPECT_FALSE(OutcomeFromString(text).has_value()) << text;
  }
}

TEST(OutcomeTest, FailuresAreFailedAndHeld) {
  for (Outcome o : kAllOutcomes) {
    EXPECT_EQ(IsFailure(o), o == Outcome::kFailed || o == Outcome::kHeld) << o;
  }
}

// In the result file an outcome is its name; a name that is none is an
// error naming the field, never a default.
TEST(OutcomeTest, ResultFileWritesAndReadsTheName) {
  for (Outcome o : kAllOutcomes) {
    ActionResult a;
    a.outcome = o;
    nlohmann::json j = ToJson(a);
    EXPECT_EQ(j["outcome"], ToString(o));
    State s;
    s.actions.push_back(a);
    auto back = StateFromJson(StateToJson(s));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    ASSERT_EQ(back->actions.size(), 1u);
    EXPECT_EQ(back->actions[0].outcome, o);
  }
  State s;
  s.actions.push_back(ActionResult{});
  nlohmann::json j = StateToJson(s);
  j["actions"][0]["outcome"] = "finished";
  auto bad = StateFromJson(j);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().ToString().find("outcome"), std::string::npos) << bad.status().ToString();
}

}  // namespace
}  // namespace gpuhost::result
