#include "run/policy_source.h"

#include <gtest/gtest.h>

#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::run {
namespace {

using plan::Hardening;
using testing::TempDir;

TEST(PolicySourceTest, CredentialWinsOverEtcAndExplicitPathWinsOverBoth) {
  TempDir root, creds, other;
  testing::SysfsBuilder b(root.path());
  b.Write("/etc/gpuhost/policy.json", R"({"hardening": "off"})");
  RootFs fs(root.path());
  auto p = LoadPolicy(fs, "", "");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hardening, Hardening::kOff);
  EXPECT_EQ(p->source, "/etc/gpuhost/policy.json");
  testing::SysfsBuilder c(creds.path());
  c.Write("/gpuhost.policy", R"({"hardening": "strict"})");
  p = LoadPolicy(fs, "", creds.path());
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->hardening, Hardening::kStrict);
  EXPECT_EQ(p->source, "credential gpuhost.policy");
  testing::SysfsBuilder o(other.path());
  o.Write("/p.json", "{\"bogus\": 1}");
  p = LoadPolicy(fs, other.path() + "/p.json", creds.path());
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find(other.path() + "/p.json:1:2"), std::string::npos)
      << p.status().message();
}

TEST(PolicySourceTest, ABadPolicyIsAnErrorNeverAFallback) {
  TempDir root, creds;
  testing::SysfsBuilder b(root.path());
  b.Write("/etc/gpuhost/policy.json", R"({"hardening": "off"})");
  testing::SysfsBuilder c(creds.path());
  c.Write("/gpuhost.policy", R"({"hardening": "off", "hardening": "strict"})");
  RootFs fs(root.path());
  auto p = LoadPolicy(fs, "", creds.path());
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "credential gpuhost.policy:1:22: duplicate key 'hardening' in the policy");
  // --policy naming a file that is not there is an error too.
  p = LoadPolicy(fs, creds.path() + "/missing.json", "");
  EXPECT_FALSE(p.ok());
}

}  // namespace
}  // namespace gpuhost::run
