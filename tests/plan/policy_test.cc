#include "plan/policy.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "plan/policy_fit.h"
#include "plan/policy_json.h"

namespace gpuhost::plan {
namespace {

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

// A bad policy: '@' marks the byte the error must point at (it is removed
// before parsing), `says` must be in the message after "policy.json:L:C: ".
struct BadPolicy {
  const char* text;
  const char* says;
};

// "policy.json:L:C: " for the '@' in marked, and the text without it.
std::pair<std::string, std::string> Unmark(const std::string& marked) {
  size_t at = marked.find('@');
  EXPECT_NE(at, std::string::npos) << marked;
  size_t line = 1, col = 1;
  for (size_t i = 0; i < at; ++i) {
    col = marked[i] == '\n' ? 1 : col + 1;
    line += marked[i] == '\n';
  }
  std::string text = marked;
  text.erase(at, 1);
  return {"policy.json:" + std::to_string(line) + ":" + std::to_string(col) + ": ", text};
}

void ExpectRefused(const std::vector<BadPolicy>& cases) {
  for (const auto& c : cases) {
    auto [where, text] = Unmark(c.text);
    Result<Policy> p = Policy();
    ASSERT_NO_THROW(p = ParsePolicy(text, "policy.json")) << text;
    ASSERT_FALSE(p.ok()) << text;
    const std::string& msg = p.status().message();
    EXPECT_EQ(msg.rfind(where, 0), 0u) << "want " << where << "\n got " << msg;
    EXPECT_NE(msg.find(c.says), std::string::npos) << "want '" << c.says << "'\n got " << msg;
  }
}

TEST(PolicyTest, WrongTypesAreErrorsWithPlaceAndPathNeverExceptions) {
  ExpectRefused({
      {R"({"hugepages": {"size": @2, "count": 1}})",
       R"(hugepages.size must be "2M" or "1G", not a number)"},
      {R"({"hugepages": {"size": @null, "count": 1}})", "hugepages.size must be"},
      {R"({"hugepages": {"size": "1G", "count": @"4"}})",
       R"(hugepages.count must be a non-negative integer, not "4")"},
      {R"({"hugepages": {"count": @-1}})", "hugepages.count must be a non-negative integer"},
      {R"({"hugepages": {"count": @1.5}})", "hugepages.count must be a non-negative integer"},
      {R"({"hugepages": @{"size": "2M"}})", "hugepages needs \"count\""},
      {R"({"hugepages": @[1]})", "hugepages must be an object, not a list"},
      {R"({"gpus": [{"match": {"address": @650000}, "assign": "vfio"}]})",
       "gpus[0].match.address must be a PCI address"},
      {R"({"gpus": [{"match": {"vendor_device": @true}, "assign": "vfio"}]})",
       "gpus[0].match.vendor_device must be"},
      {R"({"devices": [{"match": {"vendor": @4318}, "assign": "vfio"}]})",
       "devices[0].match.vendor must be"},
      {R"({"gpus": [{"match": {"boot_vga": @"yes"}, "assign": "vfio"}]})",
       R"(gpus[0].match.boot_vga must be true or false, not "yes")"},
      {R"({"gpus": [{"match": {"numa_node": @-1}, "assign": "vfio"}]})",
       "gpus[0].match.numa_node must be a node number"},
      {R"({"gpus": @{"match": {}, "assign": "vfio"}})",
       "gpus must be a list of rules, not an object"},
      {R"({"kernel_params": @{"iommu": "pt"}})", "kernel_params must be a list of strings"},
      {R"({"status_page": {"listen": @{"a": 1}}})", "status_page.listen must be a non-empty list"},
      {R"({"status_page": {"listen": @"127.0.0.1:8080"}})", "status_page.listen must be"},
      {R"({"status_page": {"listen": @[]}})",
       R"(status_page.listen must be a non-empty list of "ADDR:PORT", not an empty list)"},
      {R"({"gpus": [{"match": {"vendor": @"0x10"}, "assign": "vfio"}]})",
       R"(gpus[0].match.vendor must look like "10de", not "0x10")"},
      {R"({"gpus": [{"match": {"vendor_device": @"10de:+123"}, "assign": "vfio"}]})",
       R"(gpus[0].match.vendor_device must look like "10de:2330", not "10de:+123")"},
      {R"({"status_page": {"listen": [@8080]}})", "status_page.listen[0] must be a string"},
      {R"({"gpus": [@"vfio"]})", "gpus[0] must be an object, not \"vfio\""},
      {R"({"gpus": [{"match": {}, "assign": @["vfio"]}]})", "gpus[0].assign must be"},
      {"{\n  \"gpus\": [\n    {\"match\": {}, \"assign\": \"host\"},\n"
       "    {\"match\": {\"numa_node\": 1}, \"assign\": \"vfio\", \"comment\": @7}\n  ]\n}",
       "gpus[1].comment must be a string, not a number"},
      {R"({"hardening": @1})", "hardening must be \"off\", \"baseline\" or \"strict\""},
      {R"({"reboot": @false})", "reboot must be \"never\" or \"when-needed\", not false"},
      {R"(@"gpus")", "the policy must be an object"},
  });
}

// Where image updates come from (docs/updates.md): checked as the
// credentials are, since each value becomes a line of a sysupdate transfer.
TEST(PolicyTest, UpdateSource) {
  auto p = ParsePolicy(
      R"({"update": {"url": "https://updates.example.net/gpuhost", "tries": 2, "comment": "x"}})",
      "policy.json");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->update.url, "https://updates.example.net/gpuhost/");
  EXPECT_EQ(p->update.tries, 2);
  auto none = ParsePolicy("{}", "x");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->update.url, "");
  EXPECT_EQ(none->update.tries, 0);
  ExpectRefused({
      {R"({"update": {"url": @"ftp://updates.example.net/"}})",
       "update.url: update URL must start with https:// or http://"},
      {R"({"update": {"url": @"https://a/b c"}})", "update.url: update URL has a space"},
      {R"({"update": {"tries": @0}})", "update.tries: update tries must be a number 1..9"},
      {R"({"update": {"tries": @"3"}})", "update.tries must be a number 1..9"},
      {R"({"update": {@"server": "https://a/"}})", "unknown key 'server' in update"},
      {R"({"update": @null})", "update must be an object"},
  });
}

TEST(PolicyTest, NullAnywhereIsAnError) {
  ExpectRefused({
      {"@null", "the policy must be an object, not null"},
      {R"({"comment": @null})", "comment must be a string, not null"},
      {R"({"gpus": @null})", "gpus must be a list of rules, not null"},
      {R"({"devices": [@null]})", "devices[0] must be an object, not null"},
      {R"({"gpus": [{"match": @null, "assign": "vfio"}]})", "gpus[0].match must be an object"},
      {R"({"gpus": [{"match": {}, "assign": @null}]})", "gpus[0].assign must be"},
      {R"({"gpus": [{"match": {"address": @null}, "assign": "host"}]})",
       "gpus[0].match.address must be"},
      {R"({"gpus": [{"match": {"vendor": @null}, "assign": "host"}]})",
       "gpus[0].match.vendor must be"},
      {R"({"gpus": [{"match": {"vendor_device": @null}, "assign": "host"}]})",
       "gpus[0].match.vendor_device must be"},
      {R"({"gpus": [{"match": {"boot_vga": @null}, "assign": "host"}]})",
       "gpus[0].match.boot_vga must be"},
      {R"({"gpus": [{"match": {"numa_node": @null}, "assign": "host"}]})",
       "gpus[0].match.numa_node must be"},
      {R"({"kernel_params": @null})", "kernel_params must be"},
      {R"({"kernel_params": ["iommu=pt", @null]})", "kernel_params[1] must be a string, not null"},
      {R"({"hugepages": @null})", "hugepages must be an object"},
      {R"({"hugepages": {"count": @null}})", "hugepages.count must be"},
      {R"({"hardening": @null})", "hardening must be"},
      {R"({"status_page": @null})", "status_page must be an object"},
      {R"({"status_page": {"listen": @null}})", "status_page.listen must be"},
      {R"({"status_page": {"listen": [@null]}})", "status_page.listen[0] must be"},
      {R"({"reboot": @null})", "reboot must be"},
  });
}

TEST(PolicyTest, DuplicateKeysAreErrorsAtTheSecondKey) {
  ExpectRefused({
      {"{\n  \"hardening\": \"strict\",\n  @\"hardening\": \"off\"\n}",
       "duplicate key 'hardening' in the policy"},
      {R"({"gpus": [{"match": {"vendor": "10de", @"vendor": "1002"}, "assign": "vfio"}]})",
       "duplicate key 'vendor' in gpus[0].match"},
      {R"({"gpus": [{"match": {}, "assign": "host"}, {"match": {}, "assign": "vfio", @"assign": "host"}]})",
       "duplicate key 'assign' in gpus[1]"},
      {R"({"hugepages": {"count": 1, "size": "2M", @"count": 2}})",
       "duplicate key 'count' in hugepages"},
      // Even a key nobody reads: the second copy may be the one meant.
      {R"({"comment": "a", @"comment": "b"})", "duplicate key 'comment'"},
  });
}

TEST(PolicyTest, PlacesAreExactWhereTheOldTextSearchGuessed) {
  ExpectRefused({
      // The first "count" in the text is a comment's; the error is the second.
      {R"({"comment": "count", "hugepages": {"size": "2M", "count": @"x"}})", "hugepages.count"},
      {R"({"gpus": [{"match": {}, "assign": "vfio"}, {"match": {"address": @"1"}, "assign": "vfio"}]})",
       "gpus[1].match.address"},
      {R"({"gpus": [{"match": {}, "comment": "a\"b", "assign": "vfio"}, {"match": {@"a\"b": 1}, "assign": "vfio"}]})",
       "unknown key 'a\"b' in gpus[1].match"},
      {"{\"kernel_params\": [\"iommu=pt\",\n\t@\"init=/bin/sh\"]}", "kernel_params[1]"},
      {"{\"hugepages\": {\"count\": @12e3}}", "hugepages.count"},
      {"{\"a\": 1,\n\n   @}", "not valid JSON: syntax error while parsing object key"},
      // Found by fuzz/policy_fuzz: nlohmann reports it as out_of_range, not a parse_error.
      {R"({"comment": @1e999})", "not valid JSON: number overflow parsing '1e999'"},
      {R"({"hugepages": {"count": @-1e999}})", "number overflow"},
  });
}

TEST(PolicyTest, NestingIsBoundedAndNeverCrashes) {
  std::string deep(100000, '[');
  auto p = ParsePolicy(deep, "policy.json");
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("nested deeper than 64 levels"), std::string::npos)
      << p.status().message();
}

TEST(PolicyTest, MessagesAreValidUtf8WhateverTheBytes) {
  for (std::string text :
       {std::string("{\"\xff\xfe\": 1}"), std::string("{\"a\": \"\xc3\"}"),
        std::string("{\"gpus\": [{\"match\": {}, \"assign\": \"v\xe9\"}]}"),
        std::string("{\"ok\x01\": 1}"), std::string("\xef\xbb\xbf{\"\xc0\": 1}")}) {
    auto p = ParsePolicy(text, "policy.json");
    ASSERT_FALSE(p.ok()) << text;
    // The message goes into state.json, whose dump() throws on bad UTF-8.
    EXPECT_NO_THROW(nlohmann::json(p.status().message()).dump()) << p.status().message();
  }
  EXPECT_EQ(Printable("gr\xc3\xbc\xc3\x9f \xff\x01"), "gr\xc3\xbc\xc3\x9f \\xff\\x01");
  EXPECT_EQ(Printable("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a UTF-16 surrogate is not UTF-8";
}

TEST(PolicyTest, KernelParamsThatWeakenTheHostAreRefused) {
  for (const char* p : {"init=/bin/sh",
                        "rdinit=/bin/sh",
                        "module.sig_enforce=0",
                        "module.sig_enforce=n",
                        "module.sig-enforce=off",
                        "lockdown=none",
                        "lockdown",
                        "mitigations=off",
                        "mitigations=OFF",
                        "nopti",
                        "pti=off",
                        "nospectre_v2",
                        "spectre_v2=off",
                        "kvm.nx_huge_pages=off",
                        "kvm-intel.vmentry_l1d_flush=never",
                        "nosmap",
                        "nokaslr",
                        "iommu=off",
                        "intel_iommu=off",
                        "intel_iommu=sm_on,off",
                        "amd_iommu=off",
                        "amd_iommu=on",
                        "selinux=0",
                        "apparmor=0",
                        "enforcing=0",
                        "security=none",
                        "lsm=landlock",
                        "audit=0",
                        "debugfs=on",
                        "iomem=relaxed",
                        "sysrq_always_enabled",
                        "vfio_iommu_type1.allow_unsafe_interrupts=1",
                        "vfio_iommu_type1.allow_unsafe_interrupts",
                        "vfio.enable_unsafe_noiommu_mode=Y",
                        "vfio-pci.ids=10de:2330",
                        "vfio_pci.ids=10de:2330"}) {
    std::string text = std::string(R"({"kernel_params": ["pcie_aspm=off", @")") + p + "\"]}";
    ExpectRefused({{text.c_str(), "kernel_params[1]: '"}});
    EXPECT_NE(Error(std::string(R"({"kernel_params": [")") + p + "\"]}").find("is refused: "),
              std::string::npos)
        << p;
  }
  for (const char* p : {"intel_iommu=on", "intel_iommu=on,sm_on", "iommu=pt", "mitigations=auto",
                        "mitigations=auto,nosmt", "module.sig_enforce=1", "module.sig_enforce",
                        "lockdown=integrity", "lockdown=confidentiality", "pcie_aspm=off",
                        "hugepagesz=1G", "debugfs=off", "audit=1", "apparmor=1", "initcall_debug",
                        "vfio_iommu_type1.allow_unsafe_interrupts=0"}) {
    auto policy = ParsePolicy(std::string(R"({"kernel_params": [")") + p + "\"]}", "x");
    EXPECT_TRUE(policy.ok()) << p << ": " << policy.status().message();
  }
}

TEST(PolicyTest, ListenAddressesAreIpLiteralsWithAPort) {
  const std::vector<std::pair<const char*, const char*>> bad = {
      {"localhost:8080", "'localhost' is a host name: give an IP address"},
      {"gpu1.example.com:80", "'gpu1.example.com' is a host name"},
      {"::1:8080", "an IPv6 address goes in brackets: [::1]:8080"},
      {"[127.0.0.1]:8080", "'127.0.0.1' is not an IPv6 address (brackets are for IPv6 only)"},
      {"[::1]8080", "want [IPv6]:PORT"},
      {"127.0.0.1", "want ADDR:PORT"},
      {":8080", "no address"},
      {"127.0.0.1:0", "port '0' is not a number from 1 to 65535"},
      {"127.0.0.1:65536", "port '65536'"},
      {"127.0.0.1:+80", "port '+80'"},
      {"127.0.0.1:", "port ''"},
      {"300.1.2.3:80", "'300.1.2.3' is not an IPv4 address"},
      {"[fe80::1%eth0]:80", "'fe80::1%eth0' is not an IPv6 address"},
  };
  for (const auto& [address, says] : bad) {
    std::string text =
        std::string(R"({"status_page": {"listen": ["127.0.0.1:8080", @")") + address + "\"]}}";
    ExpectRefused({{text.c_str(),
                    (std::string("status_page.listen[1]: '") + address + "': " + says).c_str()}});
  }
  ExpectRefused(
      {{R"({"status_page": {"listen": ["[::1]:8080", @"[::1]:8080"]}})", "listed twice"}});
  for (const char* good :
       {"0.0.0.0:8080", "[::1]:8080", "[::]:443", "192.0.2.10:65535", "[2001:db8::10]:1"}) {
    auto p = ParsePolicy(std::string(R"({"status_page": {"listen": [")") + good + "\"]}}", "x");
    ASSERT_TRUE(p.ok()) << good << ": " << p.status().message();
    EXPECT_EQ(p->listen, (std::vector<std::string>{good}));
  }
}

TEST(PolicyTest, StatusPageFilesAreAbsolutePaths) {
  auto p = ParsePolicy(R"({"status_page": {"listen": ["0.0.0.0:8443"],
      "tls_cert": "/etc/gpuhost/tls/cert.pem", "tls_key": "/etc/gpuhost/tls/key.pem",
      "client_ca": "/etc/gpuhost/tls/clients.pem", "token_file": "/etc/gpuhost/token"}})",
                       "x");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->page_files.tls_cert, "/etc/gpuhost/tls/cert.pem");
  EXPECT_EQ(p->page_files.tls_key, "/etc/gpuhost/tls/key.pem");
  EXPECT_EQ(p->page_files.client_ca, "/etc/gpuhost/tls/clients.pem");
  EXPECT_EQ(p->page_files.token_file, "/etc/gpuhost/token");
  EXPECT_TRUE(ParsePolicy("{}", "x")->page_files.tls_cert.empty());
  ExpectRefused({
      {R"({"status_page": {"tls_cert": @"cert.pem"}})",
       "status_page.tls_cert: 'cert.pem' is not an absolute file path"},
      {R"({"status_page": {"token_file": @7}})", "status_page.token_file must be"},
      {R"({"status_page": {"tls_key": @"/a\nb"}})", "is not an absolute file path"},
      {R"({"status_page": {@"token": "/etc/t"}})", "unknown key 'token' in status_page"},
  });
}

Policy Hugepages(const std::string& size, const std::string& count) {
  auto p = ParsePolicy(
      "{\n  \"hugepages\": {\"size\": \"" + size + "\", \"count\": " + count + "}}", "policy.json");
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : Policy();
}

TEST(PolicyFitTest, HugepagesLeaveTheHostTwoGibOrASixteenth) {
  inventory::Inventory inv;
  inv.system.memory.total_kib = 64ull << 20;  // 64 GiB: the host keeps 4
  EXPECT_TRUE(CheckPolicyFits(Hugepages("1G", "60"), inv).ok());
  Status s = CheckPolicyFits(Hugepages("1G", "61"), inv);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.message(),
            "policy.json:2:40: hugepages: 61 pages of 1G do not fit: MemTotal is 64.0 GiB and the "
            "host keeps 4.0 GiB (2 GiB or 1/16 of it, whichever is more), so at most 60 pages");
  // 2^64-1 pages of 2M: compared as a count, no product overflows into "fits".
  EXPECT_FALSE(CheckPolicyFits(Hugepages("2M", "18446744073709551615"), inv).ok());
  EXPECT_TRUE(CheckPolicyFits(Hugepages("2M", "30720"), inv).ok());
  EXPECT_FALSE(CheckPolicyFits(Hugepages("2M", "30721"), inv).ok());
  inv.system.memory.total_kib = 8ull << 20;  // 8 GiB: the host keeps 2
  EXPECT_TRUE(CheckPolicyFits(Hugepages("2M", "3072"), inv).ok());
  EXPECT_FALSE(CheckPolicyFits(Hugepages("2M", "3073"), inv).ok());
  EXPECT_FALSE(CheckPolicyFits(Hugepages("1G", "7"), inv).ok());
  inv.system.memory.total_kib = 1ull << 20;  // 1 GiB: nothing to spare
  EXPECT_FALSE(CheckPolicyFits(Hugepages("2M", "1"), inv).ok());
}

TEST(PolicyFitTest, UnknownMemTotalRefusesHugepagesOnly) {
  inventory::Inventory inv;  // no /proc/meminfo: MemTotal 0
  Status s = CheckPolicyFits(Hugepages("2M", "16"), inv);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("policy.json:2:40: hugepages: 16 pages of 2M: MemTotal is unknown"),
            std::string::npos)
      << s.message();
  EXPECT_TRUE(CheckPolicyFits(Hugepages("2M", "0"), inv).ok());
  EXPECT_TRUE(CheckPolicyFits(Policy(), inv).ok());
}

}  // namespace
}  // namespace gpuhost::plan
