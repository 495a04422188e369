// The privilege split of a fleet node's policy (run/fetch_record.h): what
// gpuhost-policy-fetch.service fetched from a real HTTPS server
// (policy_server.py), recorded, gives apply the same choice without a
// socket; a record that is missing, from another boot or not a record
// passes the URL sources over with the reason (the run is degraded, never
// fed an unchecked policy); and `fetch-policy` then `apply --fetched` as the
// two units run them.
#include "run/fetch_record.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "fleet/policy_server.h"
#include "plan/plan_fixtures.h"
#include "result/run_marker.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using nlohmann::json;
using run::ChoosePolicy;
using run::FleetOptions;
using run::kFetchRecordPath;
using run::PolicyChoice;

constexpr const char* kUuid = "4c4c4544-0042-3510-8051-b4c04f4e4a32";
constexpr const char* kBoot = "b0070000-1111-4222-8333-444455556666";
constexpr const char* kNodePolicy = "{\"hardening\": \"strict\", \"comment\": \"node 17\"}\n";
constexpr const char* kDefaultPolicy = "{\"hardening\": \"off\", \"comment\": \"fleet default\"}\n";

class FetchRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/root";
    std::filesystem::create_directories(root_ + state_dir_);
    SetBootId(kBoot);
    server_ = std::make_unique<PolicyServer>(dir_.path());
    ASSERT_NE(server_->port(), 0) << "policy_server.py did not start";
    base_ = server_->base();
    ca_file_ = server_->ca_file();
    server_->Put("/nodes/" + std::string(kUuid) + ".json", kNodePolicy);
    server_->Put("/nodes/default.json", kDefaultPolicy);
    ids_.product_uuid = kUuid;
    ids_.product_serial = "SN17";
  }

  void SetBootId(const std::string& id) {
    ASSERT_TRUE(WriteFileAtomic(root_ + result::kBootIdPath, id + "\n").ok());
  }
  FleetOptions Options(const std::string& url_template) {
    FleetOptions o;
    o.policy_url = url_template;
    o.ca_file = ca_file_;
    o.timeout_ms = 1000;
    return o;
  }
  // Both still answer once the server is gone (a refused connection).
  std::string NodeTemplate() { return base_ + "/nodes/{uuid}.json"; }
  std::string NodeUrl() { return base_ + "/nodes/" + kUuid + ".json"; }

  // What gpuhost-policy-fetch.service does: the choice over real HTTPS,
  // every answer recorded and written.
  PolicyChoice Fetch(const FleetOptions& o) {
    RootFs fs(root_);
    run::RecordingGetter recorder(fetch::HttpsGet);
    PolicyChoice c = ChoosePolicy(fs, "", "", o, ids_, state_dir_, recorder);
    run::FetchRecord r{kBoot, c.origin.url_template, recorder.answers()};
    Status s = run::WriteRecord(fs, kFetchRecordPath, r);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return c;
  }
  // What apply --fetched does: the same choice, answered from the record.
  PolicyChoice Replay(const FleetOptions& o) {
    RootFs fs(root_);
    return ChoosePolicy(fs, "", "", o, ids_, state_dir_,
                        run::ReplayGetter::Load(fs, kFetchRecordPath));
  }
  void WriteRecordText(const std::string& text) {
    ASSERT_TRUE(WriteFileAtomic(root_ + kFetchRecordPath, text, 0600).ok());
  }
  size_t Requests() { return server_ ? Count(server_->Requests(), "\n") : 0; }

  TempDir dir_;
  std::string root_;
  std::string state_dir_ = "/var/lib/gpuhost";
  std::unique_ptr<PolicyServer> server_;
  std::string base_;  // the server's "https://127.0.0.1:PORT"
  std::string ca_file_;
  inventory::Identity ids_;
};

// The replay's choice is the fetch's, field for field.
void ExpectSameChoice(const PolicyChoice& fetched, const PolicyChoice& replayed) {
  EXPECT_EQ(fleet::ToJson(replayed.origin), fleet::ToJson(fetched.origin));
  ASSERT_EQ(replayed.policy.ok(), fetched.policy.ok()) << replayed.policy.status().ToString();
  EXPECT_EQ(replayed.policy.status().code(), fetched.policy.status().code());
  EXPECT_EQ(replayed.policy.status().message(), fetched.policy.status().message());
  EXPECT_EQ(replayed.fetched_text, fetched.fetched_text);
  ASSERT_EQ(replayed.warnings.size(), fetched.warnings.size());
  for (size_t i = 0; i < fetched.warnings.size(); ++i) {
    EXPECT_EQ(replayed.warnings[i].message, fetched.warnings[i].message);
  }
}

TEST_F(FetchRecordTest, TheNodeFileRecordedIsTheNodeFileReplayedWithoutAFetch) {
  auto fetched = Fetch(Options(NodeTemplate()));
  struct stat st {};
  ASSERT_EQ(stat((root_ + kFetchRecordPath).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the record holds the node's policy";
  const size_t asked = Requests();
  auto c = Replay(Options(NodeTemplate()));
  EXPECT_EQ(Requests(), asked) << "a replay asks no server";
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_EQ(c.origin.url, NodeUrl());
  EXPECT_EQ(c.policy->hardening, plan::Hardening::kStrict);
  EXPECT_EQ(c.fetched_text, kNodePolicy);
  EXPECT_TRUE(c.warnings.empty());
  ExpectSameChoice(fetched, c);
  // The record as the reader sees it.
  RootFs fs(root_);
  auto r = run::ReadRecord(fs, kFetchRecordPath);
  ASSERT_OK(r);
  EXPECT_EQ(r->boot_id, kBoot);
  EXPECT_EQ(r->url_template, NodeTemplate());
  ASSERT_EQ(r->answers.size(), 1u);
  EXPECT_EQ(r->answers[0].url, NodeUrl());
  ASSERT_OK(r->answers[0].answer);
  EXPECT_EQ(*r->answers[0].answer, kNodePolicy);
}

TEST_F(FetchRecordTest, ANodeFileNotFoundRecordedFallsToTheFleetDefault) {
  ids_.product_uuid = "00000000-0000-0000-0000-00000000beef";
  auto fetched = Fetch(Options(NodeTemplate()));
  auto c = Replay(Options(NodeTemplate()));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "fleet-default");
  EXPECT_EQ(c.policy->hardening, plan::Hardening::kOff);
  ASSERT_EQ(c.origin.skipped.size(), 1u) << Reasons(c.origin);
  EXPECT_EQ(c.origin.skipped[0].reason, "not found (HTTP 404)");
  EXPECT_TRUE(c.warnings.empty());
  ExpectSameChoice(fetched, c);
}

TEST_F(FetchRecordTest, ABrokenPolicyRecordedFailsTheReplayNamingTheUrl) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", "{\"hardening\": \"strictest\"}\n");
  auto fetched = Fetch(Options(NodeTemplate()));
  auto c = Replay(Options(NodeTemplate()));
  ASSERT_FALSE(c.policy.ok());
  EXPECT_EQ(c.policy.status().message().rfind(NodeUrl() + ":1:15: hardening must be", 0), 0u)
      << c.policy.status().message();
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_TRUE(c.origin.skipped.empty()) << "not passed over: " << Reasons(c.origin);
  ExpectSameChoice(fetched, c);
}

// An Invalid answer (the size cap) comes back Invalid: the kind survives
// the record, and with it the failed run.
TEST_F(FetchRecordTest, AnAnswerOverTheCapIsReplayedAsTheSameFailure) {
  auto o = Options(server_->base() + "/huge/{uuid}.json");
  auto fetched = Fetch(o);
  auto c = Replay(o);
  ASSERT_FALSE(c.policy.ok());
  EXPECT_TRUE(c.policy.status().IsInvalid()) << c.policy.status().ToString();
  EXPECT_NE(c.policy.status().message().find("larger than the 1 MiB a policy may have"),
            std::string::npos)
      << c.policy.status().message();
  EXPECT_EQ(c.policy.status().message().rfind(server_->base() + "/huge/" + kUuid + ".json: ", 0),
            0u);
  ExpectSameChoice(fetched, c);
}

// JSON strings cannot carry bytes that are not UTF-8: such an answer is
// recorded as the failure it is for the parser, not as a repaired body.
TEST_F(FetchRecordTest, AnAnswerThatIsNotUtf8FailsTheRunBothWays) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", "{\"comment\": \"caf\xe9\"}\n");
  RootFs fs(root_);
  auto direct = ChoosePolicy(fs, "", "", Options(NodeTemplate()), ids_, state_dir_);
  ASSERT_FALSE(direct.policy.ok()) << "the parser refuses it over HTTPS";
  auto fetched = Fetch(Options(NodeTemplate()));
  auto c = Replay(Options(NodeTemplate()));
  ASSERT_FALSE(c.policy.ok());
  EXPECT_EQ(c.policy.status().message(),
            NodeUrl() + ": the answer is not UTF-8 text, which no policy can be");
  EXPECT_EQ(c.origin.source, "node");
  ExpectSameChoice(fetched, c);
}

TEST_F(FetchRecordTest, AnUnreachableServerRecordedMeansTheLastGoodPolicyAndADegradedRun) {
  auto o = Options(NodeTemplate());
  auto first = Fetch(o);
  ASSERT_OK(first.policy);
  RootFs fs(root_);
  ASSERT_TRUE(run::KeepLastGood(fs, state_dir_, first).ok());
  server_.reset();  // connections refused from now on
  auto fetched = Fetch(o);
  auto c = Replay(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "last-good");
  EXPECT_EQ(c.origin.url, first.origin.url);
  ASSERT_EQ(c.origin.skipped.size(), 2u) << Reasons(c.origin);
  EXPECT_EQ(c.origin.skipped[0].source, "node");
  EXPECT_EQ(c.origin.skipped[1].source, "fleet-default");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].message.find("no policy fetched (node " + NodeUrl() + ": "),
            std::string::npos)
      << c.warnings[0].message;
  EXPECT_NE(c.warnings[0].message.find("using the last-good policy"), std::string::npos);
  ExpectSameChoice(fetched, c);
  // Nothing kept: the local policy (here the built-in one), still degraded.
  std::filesystem::remove(root_ + state_dir_ + "/" + run::kLastGoodName);
  c = Replay(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  EXPECT_EQ(c.warnings.size(), 1u);
}

TEST_F(FetchRecordTest, NoRecordPassesEverySourceOverWithTheReason) {
  const size_t asked = Requests();
  auto c = Replay(Options(NodeTemplate()));
  EXPECT_EQ(Requests(), asked);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  ASSERT_EQ(c.origin.skipped.size(), 3u) << Reasons(c.origin);
  const std::string why =
      "no record at /run/gpuhost-policy/fetched.json (gpuhost-policy-fetch.service did not "
      "run: no network fetch this boot)";
  EXPECT_EQ(c.origin.skipped[0].source, "node");
  EXPECT_EQ(c.origin.skipped[0].url, NodeUrl());
  EXPECT_EQ(c.origin.skipped[0].reason, why);
  EXPECT_EQ(c.origin.skipped[1].source, "fleet-default");
  EXPECT_EQ(c.origin.skipped[1].reason, why);
  ASSERT_EQ(c.warnings.size(), 1u) << "the run is degraded";
  EXPECT_NE(c.warnings[0].message.find("no policy fetched (node " + NodeUrl() + ": " + why),
            std::string::npos)
      << c.warnings[0].message;
}

TEST_F(FetchRecordTest, ARecordFromAnotherBootIsNotUsed) {
  ASSERT_OK(Fetch(Options(NodeTemplate())).policy);
  SetBootId("b0070000-9999-4222-8333-444455556666");
  auto c = Replay(Options(NodeTemplate()));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  ASSERT_GE(c.origin.skipped.size(), 2u);
  EXPECT_EQ(c.origin.skipped[0].reason.rfind(
                "record is from another boot (/run/gpuhost-policy/fetched.json: boot " +
                    std::string(kBoot) + ", this boot is b0070000-9999-",
                0),
            0u)
      << Reasons(c.origin);
  EXPECT_EQ(c.warnings.size(), 1u);
  // No boot id to compare with: not used either.
  std::filesystem::remove(root_ + result::kBootIdPath);
  c = Replay(Options(NodeTemplate()));
  EXPECT_EQ(c.origin.source, "built-in");
  EXPECT_NE(c.origin.skipped[0].reason.find("cannot tell whether the record"), std::string::npos)
      << Reasons(c.origin);
}

TEST_F(FetchRecordTest, AUrlTheFetchDidNotAskIsPassedOver) {
  ASSERT_OK(Fetch(Options(NodeTemplate())).policy);
  auto c = Replay(Options(server_->base() + "/other/{uuid}.json"));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  ASSERT_GE(c.origin.skipped.size(), 2u);
  EXPECT_EQ(c.origin.skipped[0].reason,
            "not fetched this boot by gpuhost-policy-fetch.service "
            "(/run/gpuhost-policy/fetched.json)");
  EXPECT_EQ(c.origin.skipped[1].url, server_->base() + "/other/default.json");
  EXPECT_EQ(c.origin.skipped[1].reason, c.origin.skipped[0].reason);
}

TEST_F(FetchRecordTest, ACorruptRecordPassesEverySourceOverNamingTheProblem) {
  const std::string head = "{\"boot_id\": \"" + std::string(kBoot) + "\", \"url_template\": \"\", ";
  const std::string url = "\"" + NodeUrl() + "\"";
  const std::string p = "cannot use the fetch record: /run/gpuhost-policy/fetched.json: ";
  struct Case {
    std::string text;
    std::string why;
  };
  for (const Case& k : std::vector<Case>{
           {"{\"boot_id\": ", p + "not JSON"},
           {"[]", p + "not a JSON object"},
           {"{\"boot_id\": 5, \"url_template\": \"\", \"answers\": []}",
            p + "field 'boot_id' must be a string"},
           {head + "\"answerz\": []}", p + "missing field 'answers'"},
           {head + "\"answers\": \"x\"}", p + "field 'answers' must be an array"},
           {head + "\"answers\": [\"x\"]}", p + "answers[0]: not an object"},
           {head + "\"answers\": [{\"url\": " + url + ", \"ok\": true, \"body\": 17}]}",
            p + "answers[0]: field 'body' must be a string"},
           {head + "\"answers\": [{\"url\": " + url + ", \"ok\": \"yes\", \"body\": \"{}\"}]}",
            p + "answers[0]: field 'ok' must be true or false"},
           {head + "\"answers\": [{\"url\": " + url +
                ", \"ok\": false, \"code\": \"teapot\", \"message\": \"m\"}]}",
            p + "answers[0]: field 'code' must be one of not-found, invalid, io, busy, "
                "unsupported, timeout"},
           {head + "\"answers\": [{\"url\": " + url + ", \"ok\": false, \"code\": \"io\"}]}",
            p + "answers[0]: missing field 'message'"},
       }) {
    WriteRecordText(k.text);
    PolicyChoice c;
    EXPECT_NO_THROW(c = Replay(Options(NodeTemplate()))) << k.text;
    ASSERT_OK(c.policy);
    EXPECT_EQ(c.origin.source, "built-in") << k.text;
    ASSERT_EQ(c.origin.skipped.size(), 3u) << Reasons(c.origin);
    EXPECT_EQ(c.origin.skipped[0].reason, k.why) << k.text;
    EXPECT_EQ(c.origin.skipped[1].reason, k.why) << k.text;
    EXPECT_EQ(c.warnings.size(), 1u) << k.text;
  }
}

// The two commands as the two units run them, on a fixture tree.
class FetchPolicyCliTest : public FetchRecordTest {
 protected:
  void SetUp() override {
    FetchRecordTest::SetUp();
    BuildGpuServer(root_);
    SysfsBuilder b(root_);
    b.Write("/sys/class/dmi/id/product_uuid", std::string(kUuid) + "\n");
  }
  std::string Agent(const std::string& args, int* status, bool with_stderr = true) {
    return RunCommand("'" + AgentBinary() + "' " + args + " --root '" + root_ + "'" +
                          (with_stderr ? " 2>&1" : " 2>/dev/null"),
                      status);
  }
  std::string Fleet(const std::string& url_template) {
    return "--policy-url '" + url_template + "' --policy-ca '" + ca_file_ +
           "' --policy-timeout-ms 2000";
  }
};

TEST_F(FetchPolicyCliTest, FetchPolicyRecordsWhatApplyAndPlanThenUse) {
  const std::string fleet = Fleet(NodeTemplate());
  int st = -1;
  std::string out = Agent("fetch-policy " + fleet, &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_NE(out.find("node " + NodeUrl() + ": 200, " + std::to_string(std::strlen(kNodePolicy)) +
                     " bytes\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("apply will use the node policy " + NodeUrl() + "\n"), std::string::npos)
      << out;
  auto text = ReadFileAt(root_ + kFetchRecordPath);
  ASSERT_OK(text);
  json rec = json::parse(*text);
  EXPECT_EQ(rec["boot_id"], kBoot);
  EXPECT_EQ(rec["answers"][0]["url"], NodeUrl());
  EXPECT_EQ(rec["answers"][0]["body"], kNodePolicy);

  server_.reset();  // from here on, only the record knows the policy
  std::string state =
      Agent("apply --dry-run --json " + fleet + " --fetched " + kFetchRecordPath, &st, false);
  ASSERT_EQ(st, 0) << state;
  json j = json::parse(state);
  EXPECT_EQ(j["policy"]["source"], "node") << j["policy"].dump();
  EXPECT_EQ(j["policy"]["url"], NodeUrl());
  EXPECT_EQ(j["policy"]["skipped"], json::array());
  EXPECT_EQ(j["warnings"].dump().find("no policy fetched"), std::string::npos);
  out = Agent("plan " + fleet + " --fetched " + kFetchRecordPath, &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("policy from node " + NodeUrl()), std::string::npos) << out;
  // Without the record, the same apply fetches itself, and finds nobody.
  state = Agent("apply --dry-run --json " + fleet, &st, false);
  j = json::parse(state);
  EXPECT_EQ(j["policy"]["source"], "built-in") << j["policy"].dump();
  EXPECT_EQ(j["result"], "degraded");
}

TEST_F(FetchPolicyCliTest, FetchPolicySaysWhatWasPassedOver) {
  server_->Put("/other/default.json", kDefaultPolicy);
  int st = -1;
  std::string out = Agent("fetch-policy " + Fleet(server_->base() + "/other/{uuid}.json"), &st);
  ASSERT_EQ(st, 0) << out;
  const std::string node = server_->base() + "/other/" + kUuid + ".json";
  const std::string dflt = server_->base() + "/other/default.json";
  EXPECT_NE(out.find("node " + node + ": passed over: not found (HTTP 404)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("fleet-default " + dflt + ": 200, " +
                     std::to_string(std::strlen(kDefaultPolicy)) + " bytes\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("apply will use the fleet-default policy " + dflt), std::string::npos) << out;
  // A broken node file: recorded (exit 0, the decision is apply's), and said.
  server_->Put("/other/" + std::string(kUuid) + ".json", "{\"hardening\": 1}");
  out = Agent("fetch-policy " + Fleet(server_->base() + "/other/{uuid}.json"), &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_NE(out.find("apply will fail the run: " + node + ":1:"), std::string::npos) << out;
}

TEST_F(FetchPolicyCliTest, WithoutAPolicyUrlAnEmptyRecordAndBadFlags) {
  int st = -1;
  std::string out = Agent("fetch-policy --out /run/elsewhere.json", &st);
  ASSERT_EQ(st, 0) << out;
  EXPECT_EQ(out, "no policy URL: nothing to fetch\n");
  json rec = json::parse(*ReadFileAt(root_ + "/run/elsewhere.json"));
  EXPECT_EQ(rec["answers"], json::array());
  EXPECT_EQ(rec["url_template"], "");
  // Bad flags: 2, and nothing written.
  Agent("fetch-policy --policy-timeout-ms 0", &st);
  EXPECT_EQ(st, 2);
  out = Agent("fetch-policy --out relative.json", &st);
  EXPECT_EQ(st, 2);
  EXPECT_NE(out.find("--out 'relative.json': want an absolute path"), std::string::npos) << out;
  Agent("apply --dry-run --fetched relative.json", &st);
  EXPECT_EQ(st, 2);
  EXPECT_FALSE(std::filesystem::exists(root_ + kFetchRecordPath));
  // A record that cannot be written: 1.
  ASSERT_TRUE(WriteFileAtomic(root_ + "/run/blocker", "x").ok());
  out = Agent("fetch-policy --out /run/blocker/fetched.json", &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_NE(out.find("cannot write the record"), std::string::npos) << out;
}

}  // namespace
}  // namespace gpuhost::testing
