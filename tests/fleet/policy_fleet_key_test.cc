// The policy's "fleet" object: where a node finds its fleet's policy.
#include <gtest/gtest.h>

#include "plan/policy.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(PolicyFleetKeyTest, ParsesTheUrlsAndTheCa) {
  auto p = plan::ParsePolicy(R"({"fleet": {"policy_url": "https://pxe.example/n/{uuid}.json",
    "default_url": "https://pxe.example/n/all.json", "ca_file": "/etc/gpuhost/fleet-ca.pem",
    "comment": "rack 4"}})",
                             "policy.json");
  ASSERT_OK(p);
  EXPECT_EQ(p->fleet.policy_url, "https://pxe.example/n/{uuid}.json");
  EXPECT_EQ(p->fleet.default_url, "https://pxe.example/n/all.json");
  EXPECT_EQ(p->fleet.ca_file, "/etc/gpuhost/fleet-ca.pem");
  auto none = plan::ParsePolicy("{}", "policy.json");
  ASSERT_OK(none);
  EXPECT_EQ(none->fleet.policy_url, "");
}

TEST(PolicyFleetKeyTest, ErrorsPointAtTheValue) {
  struct Case {
    const char* text;
    const char* error;
  } cases[] = {
      {R"({"fleet": {"policy_url": "http://pxe.example/{uuid}"}})",
       "policy.json:1:26: fleet.policy_url: 'http://pxe.example/{uuid}': http:// is refused"},
      {R"({"fleet": {"policy_url": "https://pxe.example/{name}"}})",
       "policy.json:1:26: fleet.policy_url: 'https://pxe.example/{name}': unknown placeholder "
       "{name}"},
      {R"({"fleet": {"default_url": 7}})",
       "policy.json:1:27: fleet.default_url must be an https:// URL, not a number"},
      {R"({"fleet": {"ca_file": "ca.pem"}})",
       "policy.json:1:23: fleet.ca_file: 'ca.pem' is not an absolute file path"},
      {R"({"fleet": {"url": "https://h/x"}})",
       "policy.json:1:12: unknown key 'url' in fleet (known: ca_file, comment, default_url, "
       "policy_url)"},
      {R"({"fleet": "https://h/x"})", "policy.json:1:11: fleet must be an object"},
  };
  for (const auto& c : cases) {
    auto p = plan::ParsePolicy(c.text, "policy.json");
    ASSERT_FALSE(p.ok()) << c.text;
    EXPECT_EQ(p.status().message().rfind(c.error, 0), 0u)
        << c.text << "\n  got: " << p.status().message() << "\n want: " << c.error;
  }
}

}  // namespace
}  // namespace gpuhost::testing
