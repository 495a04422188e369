#include "plan/policy.h"

#include <gtest/gtest.h>

#include "host/fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::plan {
namespace {

using testing::TempDir;

std::string Error(const std::string& text) {
  auto p = ParsePolicy(text, "policy.json");
  EXPECT_FALSE(p.ok()) << text;
  return p.ok() ? "" : p.status().message();
}

TEST(PolicyTest, FullExampleParses) {
  auto p = ParsePolicy(R"({
    "gpus": [
      {"match": {"address": "0000:65:00.0"}, "assign": "host", "comment": "display"},
      {"match": {"vendor_device": "10de:2330", "numa_node": 1}, "assign": "vfio"},
      {"match": {"boot_vga": false}, "assign": "vfio"}
    ],
    "kernel_params": ["pcie_aspm=off"],
    "hugepages": {"size": "1G", "count": 16},
    "hardening": "strict",
    "status_page": {"listen": ["0.0.0.0:8080"]},
    "reboot": "when-needed"
  })",
                       "policy.json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  ASSERT_EQ(p->gpus.size(), 3u);
  EXPECT_EQ(p->gpus[0].match.address->ToString(), "0000:65:00.0");
  EXPECT_EQ(p->gpus[0].name, "policy gpus[0] (display)");
  EXPECT_EQ(*p->gpus[1].match.vendor, 0x10de);
  EXPECT_EQ(*p->gpus[1].match.device, 0x2330);
  EXPECT_EQ(*p->gpus[1].match.numa_node, 1);
  EXPECT_EQ(p->gpus[2].assign, Assignment::kVfio);
  EXPECT_EQ(p->hugepage_size_kib, 1048576u);
  EXPECT_EQ(p->hugepages, 16u);
  EXPECT_EQ(p->hardening, Hardening::kStrict);
  EXPECT_EQ(p->listen, (std::vector<std::string>{"0.0.0.0:8080"}));
  EXPECT_TRUE(p->reboot_when_needed);
}

TEST(PolicyTest, EmptyPolicyIsTheDefaults) {
  auto p = ParsePolicy("{}", "x");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->gpus.empty());
  EXPECT_EQ(p->hardening, Hardening::kBaseline);
  EXPECT_EQ(p->listen, (std::vector<std::string>{"127.0.0.1:8080"}));
  EXPECT_FALSE(p->reboot_when_needed);
}

TEST(PolicyTest, SyntaxErrorNamesFileLineAndColumn) {
  std::string e = Error("{\n  \"gpus\": [\n    {\"match\": {}, \"assign\": \"vfio\",}\n  ]\n}\n");
  EXPECT_EQ(e.rfind("policy.json:3:", 0), 0u) << e;
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
}

TEST(PolicyTest, UnknownKeysAreErrorsWithTheirPlace) {
  std::string e =
      Error("{\n \"gpus\": [{\"match\": {\"vendr\": \"10de\"}, \"assign\": \"vfio\"}]\n}");
  EXPECT_EQ(e.rfind("policy.json:2:", 0), 0u) << e;
  EXPECT_NE(e.find("unknown key 'vendr' in gpus[0].match"), std::string::npos) << e;
  EXPECT_NE(Error(R"({"hardning": "strict"})").find("'hardning'"), std::string::npos);
}

TEST(PolicyTest, WrongValuesAreExplained) {
  EXPECT_NE(Error(R"({"kernel_params": ["amd_iommu=on"]})").find("not a valid value"),
            std::string::npos);
  EXPECT_NE(Error(R"({"kernel_params": ["vfio-pci.ids=10de:2330"]})").find("host GPUs"),
            std::string::npos);
  EXPECT_NE(Error(R"({"kernel_params": ["a b"]})").find("character"), std::string::npos);
  EXPECT_NE(
      Error(R"({"gpus": [{"match": {"address": "65:00"}, "assign": "vfio"}]})").find("PCI address"),
      std::string::npos);
  EXPECT_NE(Error(R"({"gpus": [{"match": {}, "assign": "vm"}]})").find("\"host\" or \"vfio\""),
            std::string::npos);
  EXPECT_NE(Error(R"({"gpus": [{"match": {}}]})").find("needs both"), std::string::npos);
  EXPECT_NE(Error(R"({"hugepages": {"size": "4M", "count": 1}})").find("2M"), std::string::npos);
  EXPECT_NE(Error(R"({"reboot": "always"})").find("never"), std::string::npos);
  EXPECT_NE(Error(R"([])").find("must be an object"), std::string::npos);
}

TEST(PolicyTest, CredentialWinsOverEtcAndExplicitPathWinsOverBoth) {
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

}  // namespace
}  // namespace gpuhost::plan
