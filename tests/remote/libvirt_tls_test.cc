// libvirt over TLS from credentials (remote/libvirt_tls.h) and what the
// inventory makes of it (inventory/remote_scan.h): real certificates made by
// openssl, a real root tree, the real binary.
#include "remote/libvirt_tls.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "base/fileio.h"
#include "host/fs.h"
#include "inventory/json.h"
#include "inventory/remote_scan.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

std::string Slurp(const std::string& path) {
  auto r = ReadFileAt(path);
  return r.ok() ? *r : "";
}

// A CA, a node certificate it signed (and its key), a second CA, and a key
// that belongs to nothing: made once per test binary.
struct Pki {
  TempDir dir;
  std::string ca, cert, key, other_ca, other_cert, stray_key;
  Pki() {
    const std::string d = dir.path();
    const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    RunCommand("cd " + d + " && openssl req -x509 " + ec +
               " -keyout ca.key -out ca.crt -days 2 -subj '/CN=fleet CA' 2>/dev/null"
               " && openssl req " +
               ec +
               " -keyout node.key -out node.csr -subj '/O=gpuhost/CN=node1' 2>/dev/null"
               " && openssl x509 -req -in node.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
               "-days 2 -out node.crt 2>/dev/null"
               " && openssl req -x509 " +
               ec +
               " -keyout other.key -out other.crt -days 2 -subj '/CN=other CA' 2>/dev/null"
               " && openssl req -x509 " +
               ec + " -keyout stray.key -out stray.crt -days 2 -subj '/CN=stray' 2>/dev/null");
    ca = Slurp(d + "/ca.crt");
    cert = Slurp(d + "/node.crt");
    key = Slurp(d + "/node.key");
    other_ca = Slurp(d + "/other.crt");
    other_cert = Slurp(d + "/other.crt");
    stray_key = Slurp(d + "/stray.key");
  }
};

const Pki& Keys() {
  static const Pki pki;  // its directory goes at exit
  return pki;
}

remote::LibvirtTlsInput Good() {
  return {Keys().cert, Keys().key, Keys().ca, "# who may connect\nO=gpuhost,CN=manager*\n\n"};
}

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
}

TEST(RemoteLibvirtTest, InstallsTheFilesTheListAndTheRecordAndASecondRunChangesNothing) {
  TempDir root;
  std::filesystem::create_directories(root.path() + "/etc/libvirt");
  {
    std::ofstream conf(root.path() + "/etc/libvirt/libvirtd.conf");
    conf << "#listen_tls = 0\n#tls_allowed_dn_list = [\"DN1\", \"DN2\"]\n"
            "tls_allowed_dn_list = [\"CN=old\"]\nmax_clients = 5000\n";
  }
  RootFs fs(root.path());
  auto sum = remote::InstallLibvirtTls(fs, Good());
  ASSERT_OK(sum);
  EXPECT_EQ(sum->server_subject, "CN=node1,O=gpuhost");
  EXPECT_EQ(sum->ca_subject, "CN=fleet CA");
  ASSERT_EQ(sum->allowed_dn, std::vector<std::string>{"O=gpuhost,CN=manager*"});

  const std::string r = root.path();
  EXPECT_EQ(Slurp(r + remote::kCertPath), Keys().cert);
  EXPECT_EQ(Slurp(r + remote::kCaPath), Keys().ca);
  EXPECT_EQ(Slurp(r + remote::kKeyPath), Keys().key);
  struct stat st {};
  ASSERT_EQ(stat((r + remote::kKeyPath).c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(Slurp(r + remote::kLibvirtdConf),
            "#listen_tls = 0\n#tls_allowed_dn_list = [\"DN1\", \"DN2\"]\nmax_clients = 5000\n"
            "# gpuhost-agent remote-libvirt: from the credential gpuhost.libvirt-tls-allowed-dn\n"
            "tls_allowed_dn_list = [\"O=gpuhost,CN=manager*\"]\n");

  auto inv = inventory::ScanRemoteLibvirt(fs, nullptr);
  EXPECT_TRUE(inv.configured);
  EXPECT_EQ(inv.port, 16514);
  EXPECT_EQ(inv.ca_subject, "CN=fleet CA");
  EXPECT_EQ(inv.allowed_dn, sum->allowed_dn);
  EXPECT_EQ(inv.error, "");

  int64_t before = MtimeNs(r + remote::kLibvirtdConf);
  int64_t rec_before = MtimeNs(r + remote::kRecordPath);
  ASSERT_OK(remote::InstallLibvirtTls(fs, Good()));
  EXPECT_EQ(MtimeNs(r + remote::kLibvirtdConf), before);
  EXPECT_EQ(MtimeNs(r + remote::kRecordPath), rec_before);
}

// Each bad credential is named, and nothing is written: a node that was off
// stays off, whatever part of the input was wrong.
TEST(RemoteLibvirtTest, ABadCredentialIsNamedAndNothingIsWritten) {
  struct Case {
    const char* what;
    remote::LibvirtTlsInput in;
    const char* message;
  };
  const Pki& k = Keys();
  const Case cases[] = {
      {"no cert", {"garbage", k.key, k.ca, ""}, "gpuhost.libvirt-tls-cert: no PEM certificate"},
      {"no ca", {k.cert, k.key, "", ""}, "gpuhost.libvirt-tls-ca: no PEM certificate"},
      {"no key", {k.cert, "x", k.ca, ""}, "gpuhost.libvirt-tls-key: no PEM private key"},
      {"another key", {k.cert, k.stray_key, k.ca, ""}, "is not the key of the certificate"},
      {"another CA", {k.cert, k.key, k.other_ca, ""}, "does not verify against"},
      {"quote in a DN", {k.cert, k.key, k.ca, "CN=a\nCN=\"b\"\n"}, "allowed-dn line 2"},
  };
  for (const auto& c : cases) {
    TempDir root;
    RootFs fs(root.path());
    auto sum = remote::InstallLibvirtTls(fs, c.in);
    ASSERT_FALSE(sum.ok()) << c.what;
    EXPECT_NE(sum.status().message().find(c.message), std::string::npos)
        << c.what << ": " << sum.status().message();
    EXPECT_FALSE(std::filesystem::exists(root.path() + "/etc")) << c.what;
    EXPECT_FALSE(std::filesystem::exists(root.path() + "/run")) << c.what;
  }
}

TEST(RemoteLibvirtTest, NoListRemovesAnEarlierOne) {
  std::string conf =
      "a = 1\n# gpuhost-agent remote-libvirt: from the credential "
      "gpuhost.libvirt-tls-allowed-dn\ntls_allowed_dn_list = [\"CN=x\"]\n";
  EXPECT_EQ(remote::WithAllowedDnList(conf, {}), "a = 1\n");
  EXPECT_EQ(remote::WithAllowedDnList("  tls_allowed_dn_list=[]\n#keep\n", {"CN=a", "CN=b"}),
            "#keep\n# gpuhost-agent remote-libvirt: from the credential "
            "gpuhost.libvirt-tls-allowed-dn\ntls_allowed_dn_list = [\"CN=a\", \"CN=b\"]\n");
}

TEST(RemoteLibvirtTest, ListensOnReadsTheKernelsSocketTable) {
  // Lines as Linux 6.12 prints them (trimmed after the state column).
  const std::string tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt\n"
      "   0: 00000000:4082 00000000:0000 0A 00000000:00000000 00:00000000 00000000\n"
      "   1: 0100007F:1F90 0100007F:D2C4 01 00000000:00000000 00:00000000 00000000\n";
  EXPECT_TRUE(inventory::ListensOn(tcp, 16514));
  EXPECT_FALSE(inventory::ListensOn(tcp, 8080));  // established, not listening
  const std::string tcp6 =
      "  sl  local_address                         remote_address                        st\n"
      "   0: 00000000000000000000000000000000:4082 00000000000000000000000000000000:0000 0A\n";
  EXPECT_TRUE(inventory::ListensOn(tcp6, 16514));
  EXPECT_FALSE(inventory::ListensOn("header only\n", 16514));
}

TEST(RemoteLibvirtTest, NoRecordIsOffAndABrokenOneIsAWarning) {
  TempDir root;
  RootFs fs(root.path());
  std::vector<inventory::Warning> w;
  auto off = inventory::ScanRemoteLibvirt(fs, &w);
  EXPECT_FALSE(off.configured);
  EXPECT_FALSE(off.listening);
  EXPECT_TRUE(w.empty());
  ASSERT_TRUE(fs.WriteAtomic(inventory::kRemoteLibvirtRecord, "{\"port\": \"x\"", 0644).ok());
  auto broken = inventory::ScanRemoteLibvirt(fs, &w);
  EXPECT_FALSE(broken.configured);
  EXPECT_NE(broken.error, "");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0].where, inventory::kRemoteLibvirtRecord);
  // Valid JSON of the wrong shape: the field is named, nothing throws.
  ASSERT_TRUE(fs.WriteAtomic(inventory::kRemoteLibvirtRecord,
                             "{\"port\": \"x\", \"ca_subject\": \"CN=a\"}", 0644)
                  .ok());
  auto typed = inventory::ScanRemoteLibvirt(fs, &w);
  EXPECT_FALSE(typed.configured);
  EXPECT_NE(typed.error.find("'port'"), std::string::npos) << typed.error;
  ASSERT_EQ(w.size(), 2u);
}

// The unit's command line, run as the unit runs it.
TEST(RemoteLibvirtTest, TheCommandInstallsFromACredentialsDirectoryOrSaysWhichIsMissing) {
  TempDir creds, root;
  auto put = [&](const char* name, const std::string& text) {
    std::ofstream(creds.path() + "/" + name) << text;
  };
  put("gpuhost.libvirt-tls-cert", Keys().cert);
  put("gpuhost.libvirt-tls-ca", Keys().ca);
  int rc = 0;
  std::string out = RunCommand(AgentBinary() + " remote-libvirt --credentials " + creds.path() +
                                   " --root " + root.path() + " 2>&1",
                               &rc);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("credential gpuhost.libvirt-tls-key"), std::string::npos) << out;
  EXPECT_NE(out.find("remote libvirt stays off"), std::string::npos) << out;
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/etc"));

  put("gpuhost.libvirt-tls-key", Keys().key);
  out = RunCommand(AgentBinary() + " remote-libvirt --credentials " + creds.path() + " --root " +
                       root.path() + " 2>&1",
                   &rc);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("port 16514 as CN=node1,O=gpuhost"), std::string::npos) << out;
  EXPECT_NE(out.find("(any)"), std::string::npos) << out;
  EXPECT_EQ(Slurp(root.path() + remote::kCertPath), Keys().cert);
}

}  // namespace
}  // namespace gpuhost::testing
