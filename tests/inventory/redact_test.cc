#include "inventory/redact.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <string>

namespace gpuhost::testing {
namespace {

using inventory::RedactCmdline;

struct Case {
  const char* in;
  const char* want;
};

// Credentials (rule 1): the id stays, the data goes.
constexpr Case kCredentials[] = {
    {"systemd.set_credential=gpuhost.token:s3cr3t-v4lue",
     "systemd.set_credential=gpuhost.token:<redacted>"},
    {"systemd.set_credential_binary=gpuhost.key:c2VjcmV0Cg==",
     "systemd.set_credential_binary=gpuhost.key:<redacted>"},
    // The data may hold ':' itself; only the first one ends the id.
    {"systemd.set_credential=passwd.hashed-password.root:$y$j9T$a:b",
     "systemd.set_credential=passwd.hashed-password.root:<redacted>"},
    // No ':' names no credential: all of it is hidden.
    {"systemd.set_credential=s3cr3t-v4lue", "systemd.set_credential=<redacted>"},
    {"systemd.set_credential=:s3cr3t", "systemd.set_credential=:<redacted>"},
    {"rd.systemd.set_credential=a:b", "rd.systemd.set_credential=a:<redacted>"},
    // '-' and '_' are one in parameter names.
    {"systemd.set-credential=a:b", "systemd.set-credential=a:<redacted>"},
};

// Secret-looking names (rule 2): the whole value goes.
constexpr Case kSecretNames[] = {
    {"foo.password=hunter2", "foo.password=<redacted>"},
    {"rd.iscsi.password=hunter2", "rd.iscsi.password=<redacted>"},
    {"rd.iscsi.in.password=hunter2", "rd.iscsi.in.password=<redacted>"},
    {"rootpassword=hunter2", "rootpassword=<redacted>"},
    {"My.PassWord=hunter2", "My.PassWord=<redacted>"},
    {"db_passwd=hunter2", "db_passwd=<redacted>"},
    {"luks.passphrase=hunter2", "luks.passphrase=<redacted>"},
    {"client-secret=hunter2", "client-secret=<redacted>"},
    {"app.secrets=hunter2", "app.secrets=<redacted>"},
    {"api_token=hunter2", "api_token=<redacted>"},
    {"authtoken=hunter2", "authtoken=<redacted>"},
    {"rd.luks.key=/k.bin:UUID=1", "rd.luks.key=<redacted>"},
    {"wg.key=hunter2", "wg.key=<redacted>"},
    {"ssh.keys=hunter2", "ssh.keys=<redacted>"},
    {"apikey=hunter2", "apikey=<redacted>"},
    {"x-api-key=hunter2", "x-api-key=<redacted>"},
    {"proxy.auth=user:hunter2", "proxy.auth=<redacted>"},
    {"mqtt.pass=hunter2", "mqtt.pass=<redacted>"},
    {"wifi.psk=hunter2", "wifi.psk=<redacted>"},
    {"--token=hunter2", "--token=<redacted>"},
    {"foo.password=", "foo.password=<redacted>"},
    // Quoted values and quoted words keep their quotes; spaces inside stay one word.
    {"foo.password=\"hunter 2 x\"", "foo.password=\"<redacted>\""},
    {"\"foo.password=hunter 2\"", "\"foo.password=<redacted>\""},
    {"systemd.set_credential=\"id:hunter 2\"", "systemd.set_credential=\"id:<redacted>\""},
    // A quote inside a hidden value: the quotes that stay still pair up, so
    // "quiet" stays a word of its own and nothing after it joins the value.
    {"foo.password=a\"b c\" quiet", "foo.password=<redacted> quiet"},
    {"foo.password=a\"b quiet", "foo.password=<redacted>\""},  // the quote runs to the end
};

// Credentials in URLs and iSCSI roots (rule 3): the user stays.
constexpr Case kUserinfo[] = {
    {"inst.ks=http://admin:hunter2@10.0.0.1/ks.cfg",
     "inst.ks=http://admin:<redacted>@10.0.0.1/ks.cfg"},
    {"ds=nocloud-net;s=https://ghp_hunter2@example.com/seed/",
     "ds=nocloud-net;s=https://<redacted>@example.com/seed/"},
    {"netroot=iscsi:admin:hunter2:radmin:hunter3@10.0.0.2::3260::iqn.2009-06.dracut:target0",
     "netroot=iscsi:admin:<redacted>@10.0.0.2::3260::iqn.2009-06.dracut:target0"},
    {"root=iscsi:10.0.0.2::3260::iqn.2009-06.dracut:target0",
     "root=iscsi:10.0.0.2::3260::iqn.2009-06.dracut:target0"},
    {"inst.repo=http://mirror/debian/@latest", "inst.repo=http://mirror/debian/@latest"},
    {"x=http://u:p\"w@h/a b\" quiet", "x=http://u:<redacted>\"@h/a b\" quiet"},
};

// Kernel switches and everything else stay as they are.
constexpr const char* kUnchanged[] = {
    "BOOT_IMAGE=/vmlinuz-6.1.0-18-amd64",
    "root=UUID=1b2c-3d4e",
    "ro",
    "quiet",
    "nokaslr",
    "intel_iommu=on",
    "amd_iommu=on",
    "iommu=pt",
    "iommu.strict=1",
    "vfio-pci.ids=10de:2335,10de:22a3",
    "vfio_pci.disable_vga=1",
    "lockdown=integrity",
    "module.sig_enforce=1",
    "modprobe.blacklist=nouveau",
    "secretmem.enable=1",
    "usbcore.authorized_default=0",
    "keyboard=us",
    "thinkpad_acpi.hotkey=enable",
    "iommu.passthrough=0",
    "systemd.import_credentials=no",
    "systemd.unit=multi-user.target",
    "rd.systemd.mount-extra=/gpuhost-rootfs.erofs:/sysroot:erofs:loop,ro",
    "console=ttyS0,115200n8",
    "--auth-required",
    "--",
    "=",
    "\"",
};

TEST(RedactTest, CredentialsKeepTheirId) {
  for (const auto& c : kCredentials) EXPECT_EQ(RedactCmdline(c.in), c.want) << c.in;
}

TEST(RedactTest, SecretNamesLoseTheirValue) {
  for (const auto& c : kSecretNames) EXPECT_EQ(RedactCmdline(c.in), c.want) << c.in;
}

TEST(RedactTest, UrlAndIscsiCredentialsKeepTheUser) {
  for (const auto& c : kUserinfo) EXPECT_EQ(RedactCmdline(c.in), c.want) << c.in;
}

TEST(RedactTest, KernelSwitchesStay) {
  for (const char* w : kUnchanged) EXPECT_EQ(RedactCmdline(w), w) << w;
}

TEST(RedactTest, AWholeLineKeepsItsOrderAndSpacing) {
  std::string line =
      "BOOT_IMAGE=/vmlinuz root=UUID=x ro  intel_iommu=on iommu=pt "
      "systemd.set_credential=gpuhost.token:s3cr3t vfio-pci.ids=10de:2335 "
      "foo.password=\"hunter 2\" nokaslr -- --token=t0k3n --auth-required\n";
  std::string want =
      "BOOT_IMAGE=/vmlinuz root=UUID=x ro  intel_iommu=on iommu=pt "
      "systemd.set_credential=gpuhost.token:<redacted> vfio-pci.ids=10de:2335 "
      "foo.password=\"<redacted>\" nokaslr -- --token=<redacted> --auth-required\n";
  EXPECT_EQ(RedactCmdline(line), want);
  EXPECT_EQ(RedactCmdline(""), "");
}

TEST(RedactTest, RedactingTwiceChangesNothing) {
  auto again = [](const Case& c) { EXPECT_EQ(RedactCmdline(c.want), c.want) << c.want; };
  for (const auto& c : kCredentials) again(c);
  for (const auto& c : kSecretNames) again(c);
  for (const auto& c : kUserinfo) again(c);
}

// Words as the kernel splits them: at white space outside double quotes.
size_t WordCount(const std::string& line) {
  size_t n = 0;
  bool in_word = false, in_quote = false;
  for (char c : line) {
    bool space = c == ' ' || c == '\t' || c == '\n';
    if (space && !in_quote) {
      in_word = false;
      continue;
    }
    if (!in_word) ++n;
    in_word = true;
    if (c == '"') in_quote = !in_quote;
  }
  return n;
}

// Lines made of the pieces the rules look at, in any order: hiding keeps the
// words, and a second redaction changes nothing (state.json is read back and
// written again; fuzz/state_fuzz checks the same).
TEST(RedactTest, GeneratedLinesKeepTheirWordsAndRedactOnce) {
  constexpr const char* kPieces[] = {
      "a",      "=",  ":",   "\"", " ", "@", "://",          "/", "--",
      "iscsi:", "\t", "key", ".",  "_", "-", "foo.password", "x", "systemd.set_credential"};
  std::mt19937 rng(14);
  for (int i = 0; i < 20000; ++i) {
    std::string line;
    size_t len = 1 + rng() % 24;
    for (size_t k = 0; k < len; ++k) line += kPieces[rng() % std::size(kPieces)];
    std::string once = RedactCmdline(line);
    EXPECT_EQ(RedactCmdline(once), once) << "line: " << line;
    EXPECT_EQ(WordCount(once), WordCount(line)) << "line: " << line << "\nredacted: " << once;
    if (HasFailure()) break;
  }
}

// An unterminated quote runs to the end of the line, as in the kernel: no
// value after it leaks through as a separate, unredacted word.
TEST(RedactTest, AnOpenQuoteRunsToTheEnd) {
  EXPECT_EQ(RedactCmdline("foo.password=\"hunter 2 systemd.set_credential=a:b"),
            "foo.password=\"<redacted>");
}

}  // namespace
}  // namespace gpuhost::testing
