// A fleet node's policy fetched from a real HTTPS server (policy_server.py:
// a throwaway CA, a second server with another CA, dripping, silent, huge
// and redirecting paths): which source is used, why the others were passed
// over, what fails the run, and when the last good policy is kept.
#include "run/policy_fetch.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <memory>

#include "base/fileio.h"
#include "fleet/policy_server.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using fleet::PolicyOrigin;
using run::ChoosePolicy;
using run::FleetOptions;
using run::PolicyChoice;

constexpr const char* kUuid = "4c4c4544-0042-3510-8051-b4c04f4e4a32";
constexpr const char* kNodePolicy = "{\"hardening\": \"strict\", \"comment\": \"node 17\"}\n";
constexpr const char* kDefaultPolicy = "{\"hardening\": \"off\", \"comment\": \"fleet default\"}\n";

class PolicyFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = dir_.path() + "/root";
    state_dir_ = "/var/lib/gpuhost";
    std::filesystem::create_directories(root_ + state_dir_);
    server_ = std::make_unique<PolicyServer>(dir_.path());
    ASSERT_NE(server_->port(), 0) << "policy_server.py did not start";
    server_->Put("/nodes/" + std::string(kUuid) + ".json", kNodePolicy);
    server_->Put("/nodes/default.json", kDefaultPolicy);
    ids_.product_uuid = kUuid;
    ids_.product_serial = "SN17";
  }

  FleetOptions Options(const std::string& url_template) {
    FleetOptions o;
    o.policy_url = url_template;
    o.ca_file = server_->ca_file();
    o.timeout_ms = 1000;
    return o;
  }
  std::string NodeTemplate() { return server_->base() + "/nodes/{uuid}.json"; }

  PolicyChoice Choose(const FleetOptions& o, const std::string& creds = "") {
    RootFs fs(root_);
    return ChoosePolicy(fs, "", creds, o, ids_, state_dir_);
  }
  void Keep(const PolicyChoice& c) {
    RootFs fs(root_);
    Status s = run::KeepLastGood(fs, state_dir_, c);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string LastGoodPath() { return root_ + state_dir_ + "/" + run::kLastGoodName; }

  TempDir dir_;
  std::string root_;
  std::string state_dir_;
  std::unique_ptr<PolicyServer> server_;
  inventory::Identity ids_;
};

TEST_F(PolicyFetchTest, TheNodesOwnFileIsUsed) {
  auto c = Choose(Options(NodeTemplate()));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.policy->hardening, plan::Hardening::kStrict);
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_EQ(c.origin.url, server_->base() + "/nodes/" + kUuid + ".json");
  EXPECT_EQ(c.policy->source, c.origin.url);
  EXPECT_EQ(c.origin.url_template, NodeTemplate());
  EXPECT_EQ(c.origin.url_template_from, "--policy-url");
  EXPECT_EQ(c.origin.ca_file, server_->ca_file());
  EXPECT_TRUE(c.origin.skipped.empty()) << Reasons(c.origin);
  EXPECT_TRUE(c.warnings.empty());
  EXPECT_EQ(c.fetched_text, kNodePolicy);
}

TEST_F(PolicyFetchTest, WithoutANodeFileTheFleetDefault) {
  ids_.product_uuid = "00000000-0000-0000-0000-00000000beef";
  auto c = Choose(Options(NodeTemplate()));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.policy->hardening, plan::Hardening::kOff);
  EXPECT_EQ(c.origin.source, "fleet-default");
  EXPECT_EQ(c.origin.url, server_->base() + "/nodes/default.json");
  ASSERT_EQ(c.origin.skipped.size(), 1u);
  EXPECT_EQ(c.origin.skipped[0].source, "node");
  EXPECT_EQ(c.origin.skipped[0].url, server_->base() + "/nodes/" + ids_.product_uuid + ".json");
  EXPECT_EQ(c.origin.skipped[0].reason, "not found (HTTP 404)");
  EXPECT_TRUE(c.warnings.empty()) << "a node without its own file is how a fleet default works";
}

TEST_F(PolicyFetchTest, AValueTheMachineLacksPassesTheNodeFileOver) {
  ids_.product_serial = "";
  auto c = Choose(Options(server_->base() + "/nodes/{serial}.json"));
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "fleet-default");
  ASSERT_EQ(c.origin.skipped.size(), 1u);
  EXPECT_EQ(c.origin.skipped[0].reason, "{serial}: this machine reports no SMBIOS product serial");
}

TEST_F(PolicyFetchTest, AnExplicitDefaultUrl) {
  server_->Put("/elsewhere/all.json", kDefaultPolicy);
  ids_.product_uuid = "0-no-file";
  auto o = Options(NodeTemplate());
  o.default_url = server_->base() + "/elsewhere/all.json";
  auto c = Choose(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "fleet-default");
  EXPECT_EQ(c.origin.url, o.default_url);
}

TEST_F(PolicyFetchTest, AnInvalidFetchedPolicyFailsNamingTheUrlAndIsNotReplaced) {
  server_->Put("/nodes/" + std::string(kUuid) + ".json", "{\"hardening\": \"strictest\"}\n");
  auto c = Choose(Options(NodeTemplate()));
  ASSERT_FALSE(c.policy.ok());
  const std::string url = server_->base() + "/nodes/" + kUuid + ".json";
  EXPECT_EQ(c.policy.status().message().rfind(url + ":1:15: hardening must be", 0), 0u)
      << c.policy.status().message();
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_EQ(c.origin.url, url);
  EXPECT_EQ(server_->Requests().find("/nodes/default.json"), std::string::npos)
      << "a bad node file must not be silently replaced by the default";
  // The fleet default is held to the same rule.
  ids_.product_uuid = "0-no-file";
  server_->Put("/nodes/default.json",
               "{\"gpus\": [{\"match\": {\"vendr\": \"10de\"}, \"assign\": \"vfio\"}]}");
  c = Choose(Options(NodeTemplate()));
  ASSERT_FALSE(c.policy.ok());
  EXPECT_EQ(c.origin.source, "fleet-default");
  EXPECT_NE(c.policy.status().message().find(server_->base() + "/nodes/default.json:1:"),
            std::string::npos)
      << c.policy.status().message();
  EXPECT_NE(c.policy.status().message().find("unknown key 'vendr'"), std::string::npos);
}

TEST_F(PolicyFetchTest, AnAnswerOverTheCapFailsTheRun) {
  for (const char* path : {"/huge/", "/huge-chunked/"}) {
    auto c = Choose(Options(server_->base() + path + "{uuid}.json"));
    ASSERT_FALSE(c.policy.ok()) << path;
    EXPECT_TRUE(c.policy.status().IsInvalid());
    EXPECT_NE(c.policy.status().message().find(server_->base() + path + kUuid + ".json: "),
              std::string::npos)
        << c.policy.status().message();
    EXPECT_NE(c.policy.status().message().find("larger than the 1 MiB a policy may have"),
              std::string::npos)
        << c.policy.status().message();
    EXPECT_EQ(c.origin.source, "node");
  }
}

TEST_F(PolicyFetchTest, SlowAndSilentServersArePassedOverAtTheDeadline) {
  auto o = Options(server_->base() + "/slow/{uuid}.json");
  o.default_url = server_->base() + "/stall/default.json";
  auto t0 = std::chrono::steady_clock::now();
  auto c = Choose(o);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_LT(took, std::chrono::milliseconds(3500)) << "two fetches of 1000 ms each at most";
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  ASSERT_EQ(c.origin.skipped.size(), 3u) << Reasons(c.origin);
  EXPECT_EQ(c.origin.skipped[0].reason, "no complete answer within 1000 ms");
  EXPECT_EQ(c.origin.skipped[1].source, "fleet-default");
  EXPECT_EQ(c.origin.skipped[1].reason, "no complete answer within 1000 ms");
  EXPECT_EQ(c.origin.skipped[2].source, "last-good");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].message.find("no policy fetched"), std::string::npos);
}

TEST_F(PolicyFetchTest, AServerWithAnotherCasCertificateIsPassedOver) {
  auto o = Options("https://127.0.0.1:" + std::to_string(server_->wrong_ca_port()) +
                   "/nodes/{uuid}.json");
  o.default_url = server_->base() + "/nodes/default.json";
  auto c = Choose(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "fleet-default");
  ASSERT_EQ(c.origin.skipped.size(), 1u);
  EXPECT_NE(c.origin.skipped[0].reason.find("certificate verify failed"), std::string::npos)
      << c.origin.skipped[0].reason;
  EXPECT_NE(c.origin.skipped[0].reason.find(server_->ca_file()), std::string::npos);
  // Without the CA, the system's bundle does not know the test CA either.
  o.ca_file.clear();
  c = Choose(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  EXPECT_NE(c.origin.skipped[1].reason.find("system's CA bundle"), std::string::npos)
      << Reasons(c.origin);
}

TEST_F(PolicyFetchTest, RedirectsAndErrorsArePassedOver) {
  auto o = Options(server_->base() + "/redirect/{uuid}.json");
  o.default_url = server_->base() + "/error/default.json";
  auto c = Choose(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  ASSERT_GE(c.origin.skipped.size(), 2u);
  EXPECT_EQ(c.origin.skipped[0].reason,
            "HTTP 302 redirect to 'http://127.0.0.1/elsewhere' not followed");
  EXPECT_EQ(c.origin.skipped[1].reason, "HTTP 500");
}

TEST_F(PolicyFetchTest, UnreachableFallsBackToTheLastGoodPolicy) {
  auto o = Options(NodeTemplate());
  auto first = Choose(o);
  ASSERT_OK(first.policy);
  EXPECT_FALSE(std::filesystem::exists(LastGoodPath())) << "kept only when the caller says";
  Keep(first);
  ASSERT_TRUE(std::filesystem::exists(LastGoodPath()));
  server_.reset();  // the server is gone: connections are refused
  auto c = Choose(o);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "last-good");
  EXPECT_EQ(c.origin.url, first.origin.url);
  EXPECT_EQ(c.origin.file, state_dir_ + "/" + run::kLastGoodName);
  EXPECT_EQ(c.policy->hardening, plan::Hardening::kStrict);
  ASSERT_EQ(c.origin.skipped.size(), 2u) << Reasons(c.origin);
  EXPECT_EQ(c.origin.skipped[0].source, "node");
  EXPECT_EQ(c.origin.skipped[1].source, "fleet-default");
  ASSERT_EQ(c.warnings.size(), 1u);
  EXPECT_NE(c.warnings[0].message.find("using the last-good policy"), std::string::npos)
      << c.warnings[0].message;
  // Kept for another template: not used.
  auto other = o;
  other.policy_url = "https://127.0.0.1:1/other/{uuid}.json";
  c = Choose(other);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "built-in");
  EXPECT_NE(c.origin.skipped.back().reason.find("kept for another policy URL template"),
            std::string::npos)
      << Reasons(c.origin);
}

TEST_F(PolicyFetchTest, ThePolicyUrlComesFromTheFlagTheCredentialOrTheLocalPolicy) {
  std::string creds = dir_.path() + "/creds";
  std::filesystem::create_directories(creds);
  ASSERT_TRUE(WriteFileAtomic(creds + "/gpuhost.policy-url", NodeTemplate() + "\n", 0600).ok());
  ASSERT_TRUE(WriteFileAtomic(creds + "/gpuhost.policy-ca", *ReadFileAt(server_->ca_file())).ok());
  auto c = Choose(FleetOptions{}, creds);
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_EQ(c.origin.url_template_from, "credential gpuhost.policy-url");
  EXPECT_EQ(c.origin.ca_file, creds + "/gpuhost.policy-ca");
  // The flag wins over the credential.
  auto o = Options(server_->base() + "/nodes/default.json");
  c = Choose(o, creds);
  EXPECT_EQ(c.origin.url_template_from, "--policy-url");
  // The local policy's fleet section, when neither is given.
  std::filesystem::create_directories(root_ + "/etc/gpuhost");
  std::string local = "{\"fleet\": {\"policy_url\": \"" + NodeTemplate() + "\", \"ca_file\": \"" +
                      server_->ca_file() + "\"}, \"hardening\": \"baseline\"}";
  ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/gpuhost/policy.json", local).ok());
  c = Choose(FleetOptions{});
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "node");
  EXPECT_EQ(c.origin.url_template_from, "policy fleet.policy_url");
  EXPECT_EQ(c.origin.ca_file, server_->ca_file());
  // No URL anywhere: the local policy, as before fleets.
  ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/gpuhost/policy.json", "{}").ok());
  c = Choose(FleetOptions{});
  ASSERT_OK(c.policy);
  EXPECT_EQ(c.origin.source, "local");
  EXPECT_EQ(c.origin.file, "/etc/gpuhost/policy.json");
  EXPECT_EQ(c.origin.url_template, "");
}

TEST_F(PolicyFetchTest, BadSettingsFailTheRun) {
  auto c = Choose(Options("http://127.0.0.1/nodes/{uuid}.json"));
  ASSERT_FALSE(c.policy.ok());
  EXPECT_NE(c.policy.status().message().find("policy URL (--policy-url): "), std::string::npos)
      << c.policy.status().message();
  EXPECT_NE(c.policy.status().message().find("http:// is refused"), std::string::npos);
  c = Choose(Options(server_->base() + "/nodes/{host}.json"));
  ASSERT_FALSE(c.policy.ok());
  EXPECT_NE(c.policy.status().message().find("unknown placeholder {host}"), std::string::npos);
  auto o = Options(NodeTemplate());
  o.ca_file = dir_.path() + "/no-such-ca.crt";
  c = Choose(o);
  ASSERT_FALSE(c.policy.ok());
  EXPECT_NE(c.policy.status().message().find("policy CA (--policy-ca): "), std::string::npos)
      << c.policy.status().message();
  o.ca_file = server_->ca_file() + ".notpem";
  ASSERT_TRUE(WriteFileAtomic(o.ca_file, "hello\n").ok());
  c = Choose(o);
  ASSERT_FALSE(c.policy.ok());
  EXPECT_NE(c.policy.status().message().find("holds no PEM certificate"), std::string::npos);
  // The local policy's template is checked where it is written.
  std::filesystem::create_directories(root_ + "/etc/gpuhost");
  ASSERT_TRUE(WriteFileAtomic(root_ + "/etc/gpuhost/policy.json",
                              "{\"fleet\": {\"policy_url\": \"http://h/{uuid}\"}}")
                  .ok());
  c = Choose(FleetOptions{});
  ASSERT_FALSE(c.policy.ok());
  EXPECT_EQ(
      c.policy.status().message().rfind("/etc/gpuhost/policy.json:1:26: fleet.policy_url: ", 0), 0u)
      << c.policy.status().message();
}

}  // namespace
}  // namespace gpuhost::testing
