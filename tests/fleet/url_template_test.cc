// The policy URL template: what is refused and why, how values are escaped,
// the fleet default's URL, and splitting a URL for the client.
#include "fleet/url_template.h"

#include <gtest/gtest.h>

#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using fleet::CheckTemplate;
using fleet::Expand;
using fleet::NodeIds;

std::string Why(const Status& s) { return s.ok() ? "ok" : s.message(); }

TEST(UrlTemplateTest, AcceptsHttpsWithPlaceholdersInPathAndQuery) {
  EXPECT_TRUE(CheckTemplate("https://pxe.example/gpuhost/nodes/{uuid}.json").ok());
  EXPECT_TRUE(CheckTemplate("https://10.0.0.1:8443/p?mac={mac}&serial={serial}").ok());
  EXPECT_TRUE(CheckTemplate("https://[2001:db8::1]:443/{uuid}/policy.json").ok());
  EXPECT_TRUE(CheckTemplate("https://pxe.example/one-for-all.json").ok());
}

TEST(UrlTemplateTest, RefusesPlainHttpSayingWhy) {
  Status s = CheckTemplate("http://pxe.example/nodes/{uuid}.json");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.IsInvalid());
  EXPECT_NE(s.message().find("http:// is refused"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("https://"), std::string::npos) << s.message();
  EXPECT_NE(Why(CheckTemplate("HTTP://pxe.example/x")).find("http:// is refused"),
            std::string::npos);
  EXPECT_NE(Why(CheckTemplate("ftp://pxe.example/x")).find("not an https:// URL"),
            std::string::npos);
}

TEST(UrlTemplateTest, UnknownPlaceholderIsNamed) {
  Status s = CheckTemplate("https://pxe.example/nodes/{hostname}.json");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown placeholder {hostname}"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("{uuid}, {serial}, {mac}"), std::string::npos) << s.message();
  // Expand refuses it the same way, whatever the values.
  auto e = Expand("https://h/{UUID}", {"u", "s", "m"});
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("unknown placeholder {UUID}"), std::string::npos);
}

TEST(UrlTemplateTest, RefusesBadShapes) {
  EXPECT_NE(Why(CheckTemplate("https://h/{uuid.json")).find("'{' without its '}'"),
            std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://h/uuid}.json")).find("'}' without its '{'"),
            std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://h/{{uuid}}")).find("without"), std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://{uuid}.nodes.example/p.json")).find("not in the host"),
            std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://user:pw@h/p.json")).find("passwords"), std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https:///p.json")).find("no host"), std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://h/a b.json")).find("not allowed in a URL"),
            std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://h/p.json#x")).find("fragment"), std::string::npos);
  EXPECT_NE(Why(CheckTemplate("https://h:99999/p.json")).find("port"), std::string::npos);
}

TEST(UrlTemplateTest, ValuesAreUrlEscaped) {
  NodeIds ids{"4c4c4544-0042-3510-8051-b4c04f4e4a32", "SN 17/B&c?d%", "52-54-00-12-34-56"};
  auto url = Expand("https://h/n/{serial}.json?uuid={uuid}&mac={mac}", ids);
  ASSERT_OK(url);
  EXPECT_EQ(*url,
            "https://h/n/SN%2017%2FB%26c%3Fd%25.json?uuid=4c4c4544-0042-3510-8051-b4c04f4e4a32"
            "&mac=52-54-00-12-34-56");
  EXPECT_EQ(fleet::UrlEscape("a.b_c~d-e"), "a.b_c~d-e");
  EXPECT_EQ(fleet::UrlEscape("\xff:"), "%FF%3A");
}

TEST(UrlTemplateTest, MissingValueNamesThePlaceholder) {
  auto url = Expand("https://h/{uuid}/{serial}.json", {"u-1", "", "m"});
  ASSERT_FALSE(url.ok());
  EXPECT_TRUE(url.status().IsNotFound());
  EXPECT_NE(url.status().message().find("{serial}: this machine reports no SMBIOS product serial"),
            std::string::npos)
      << url.status().message();
  auto mac = Expand("https://h/{mac}.json", {"u", "s", ""});
  ASSERT_FALSE(mac.ok());
  EXPECT_NE(mac.status().message().find("{mac}"), std::string::npos);
  // A value that is not needed may be missing.
  EXPECT_TRUE(Expand("https://h/{uuid}.json", {"u", "", ""}).ok());
}

TEST(UrlTemplateTest, DefaultUrlIsTheDirectoryPlusDefaultJson) {
  auto d = fleet::DefaultUrlFor("https://pxe.example/gpuhost/nodes/{uuid}.json");
  ASSERT_OK(d);
  EXPECT_EQ(*d, "https://pxe.example/gpuhost/nodes/default.json");
  d = fleet::DefaultUrlFor("https://pxe.example:8443/p?uuid={uuid}");
  ASSERT_OK(d);
  EXPECT_EQ(*d, "https://pxe.example:8443/default.json");
  d = fleet::DefaultUrlFor("https://pxe.example");
  ASSERT_OK(d);
  EXPECT_EQ(*d, "https://pxe.example/default.json");
}

TEST(UrlTemplateTest, SplitsForTheClient) {
  auto t = fleet::SplitHttpsUrl("https://pxe.example:8443/a/b.json?x=1");
  ASSERT_OK(t);
  EXPECT_EQ(t->host, "pxe.example");
  EXPECT_EQ(t->port, 8443);
  EXPECT_EQ(t->target, "/a/b.json?x=1");
  t = fleet::SplitHttpsUrl("https://[::1]/x");
  ASSERT_OK(t);
  EXPECT_EQ(t->host, "::1");
  EXPECT_EQ(t->port, 443);
  t = fleet::SplitHttpsUrl("https://h?x=1");
  ASSERT_OK(t);
  EXPECT_EQ(t->target, "/?x=1");
  EXPECT_FALSE(fleet::SplitHttpsUrl("https://h/{uuid}").ok());
  EXPECT_FALSE(fleet::SplitHttpsUrl("http://h/x").ok());
}

}  // namespace
}  // namespace gpuhost::testing
