// The status server beyond loopback: TLS (certificates made by the openssl
// command in a temp dir), the bearer token, mutual TLS, and the refusals at
// start that name what is missing or broken. In-process on 127.0.0.1.
#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include "base/fileio.h"
#include "report/http_client.h"
#include "report/serve.h"
#include "report/state_fixtures.h"
#include "report/tls_client.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

const std::string kToken = "0123456789abcdef0123456789abcdef";

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(MakeTestCerts(certs_.path()));
    ASSERT_TRUE(WriteFileAtomic(certs_.path() + "/token", kToken + "\n").ok());
    auto s = H200State();
    s.result = "ok";
    s.warnings.clear();
    WriteState(state_.path(), s);
    client_.ca_file = Cert("ca.crt");
  }
  std::string Cert(const std::string& name) const { return certs_.path() + "/" + name; }
  report::ServeOptions Options() const {
    report::ServeOptions o;
    o.listen = {"127.0.0.1:0"};
    o.state_dir = state_.path();
    o.hostname = "h200";
    o.libvirt = false;
    o.nvml = false;
    o.tls = {Cert("server.crt"), Cert("server.key"), ""};
    o.token_file = Cert("token");
    return o;
  }
  // Starts a server; its port, or 0 with *error set.
  int Start(const report::ServeOptions& o, std::string* error = nullptr) {
    server_ = std::make_unique<report::StatusServer>(o);
    auto ports = server_->Start();
    if (!ports.ok()) {
      if (error) *error = ports.status().message();
      return 0;
    }
    return (*ports)[0];
  }
  TempDir certs_, state_;
  TlsClientOptions client_;
  std::unique_ptr<report::StatusServer> server_;
};

TEST_F(TlsTest, HealthzIsOpenEverythingElseNeedsTheToken) {
  int port = Start(Options());
  ASSERT_NE(port, 0);
  std::string error;
  auto h =
      TlsExchange(port, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                  client_, &error);
  EXPECT_EQ(h.status, 200) << h.raw << error;
  for (const char* path : {"/", "/api/v1/status", "/metrics", "/nothing-here"}) {
    auto no = TlsGet(port, path, client_);
    EXPECT_EQ(no.status, 401) << path;
    EXPECT_EQ(no.headers["www-authenticate"], "Bearer realm=\"gpuhost\"") << path;
    EXPECT_EQ(no.body.find("h200"), std::string::npos) << "a 401 tells nothing: " << path;
    EXPECT_EQ(TlsGet(port, path, client_, kToken + "x").status, 401) << path;
    EXPECT_EQ(TlsGet(port, path, client_, kToken.substr(0, 31)).status, 401) << path;
  }
  EXPECT_EQ(TlsGet(port, "/api/v1/status", client_, kToken).status, 200);
  EXPECT_EQ(TlsGet(port, "/metrics", client_, kToken).status, 200);
  EXPECT_EQ(TlsGet(port, "/nothing-here", client_, kToken).status, 404);
  // The scheme is case-insensitive (RFC 9110 11.1); "Basic" is not a bearer token.
  auto lower = TlsExchange(port,
                           "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: bearer " +
                               kToken + "\r\nConnection: close\r\n\r\n",
                           client_);
  EXPECT_EQ(lower.status, 200);
  auto basic = TlsExchange(port,
                           "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic " +
                               kToken + "\r\nConnection: close\r\n\r\n",
                           client_);
  EXPECT_EQ(basic.status, 401);
}

TEST_F(TlsTest, KeepAliveOverTls) {
  int port = Start(Options());
  ASSERT_NE(port, 0);
  std::string two = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  two += "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kToken +
         "\r\nConnection: close\r\n\r\n";
  // Both answers arrive on one connection; the client reads the first.
  auto r = TlsExchange(port, two, client_);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "keep-alive");
}

// The server writes while the client is gone: an EPIPE for that connection,
// never a SIGPIPE that kills the process (this one: the server is in-process).
TEST_F(TlsTest, AClientGoneMidResponseIsOnlyThatConnectionsLoss) {
  int port = Start(Options());
  ASSERT_NE(port, 0);
  TlsClientOptions hang_up = client_;
  hang_up.read = false;
  std::string pipelined;
  for (int i = 0; i < 20; ++i) {
    pipelined +=
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kToken + "\r\n\r\n";
  }
  for (int i = 0; i < 30; ++i) TlsExchange(port, pipelined, hang_up);
  EXPECT_EQ(TlsGet(port, "/healthz", client_).status, 200);
}

TEST_F(TlsTest, PlainHttpOnATlsPortGetsNoPage) {
  int port = Start(Options());
  ASSERT_NE(port, 0);
  auto r = Get(port, "/healthz");
  EXPECT_EQ(r.status, 0) << r.raw;
  EXPECT_EQ(TlsGet(port, "/healthz", client_).status, 200) << "still serving";
}

TEST_F(TlsTest, OldProtocolsAreRefused) {
  int port = Start(Options());
  ASSERT_NE(port, 0);
  TlsClientOptions old = client_;
  old.max_version = TLS1_1_VERSION;
  std::string error;
  auto r = TlsExchange(port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", old, &error);
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(error.find("handshake"), std::string::npos) << error;
  old.max_version = TLS1_2_VERSION;
  EXPECT_EQ(TlsGet(port, "/healthz", old).status, 200) << "TLS 1.2 is fine";
}

TEST_F(TlsTest, MutualTlsWantsAClientCertificate) {
  auto o = Options();
  o.tls.client_ca = Cert("ca.crt");
  int port = Start(o);
  ASSERT_NE(port, 0);
  EXPECT_EQ(TlsGet(port, "/healthz", client_).status, 0) << "no client certificate";
  TlsClientOptions with = client_;
  with.cert = Cert("client.crt");
  with.key = Cert("client.key");
  EXPECT_EQ(TlsGet(port, "/healthz", with).status, 200);
  EXPECT_EQ(TlsGet(port, "/metrics", with, kToken).status, 200);
}

TEST_F(TlsTest, BadFilesAreNamedAtStart) {
  struct Case {
    std::string cert, key, ca, token, want;
  };
  std::string garbage = Cert("garbage.pem");
  ASSERT_TRUE(WriteFileAtomic(garbage, "not a certificate\n").ok());
  ASSERT_TRUE(WriteFileAtomic(Cert("short"), "abc\n").ok());
  std::vector<Case> cases = {
      {Cert("missing.crt"), Cert("server.key"), "", Cert("token"), Cert("missing.crt")},
      {garbage, Cert("server.key"), "", Cert("token"), garbage + ": not a PEM certificate"},
      {Cert("server.crt"), garbage, "", Cert("token"), garbage + ": not a PEM private key"},
      {Cert("server.crt"), Cert("other.key"), "", Cert("token"),
       Cert("other.key") + " does not match the certificate " + Cert("server.crt")},
      {Cert("server.crt"), Cert("server.key"), garbage, Cert("token"), garbage},
      {Cert("server.crt"), Cert("server.key"), "", Cert("nothing"), Cert("nothing")},
      {Cert("server.crt"), Cert("server.key"), "", Cert("short"),
       Cert("short") + ": 3 characters; want at least 16"},
      {Cert("server.crt"), "", "", Cert("token"), "without its key"},
  };
  for (const auto& c : cases) {
    auto o = Options();
    o.tls = {c.cert, c.key, c.ca};
    o.token_file = c.token;
    std::string error;
    EXPECT_EQ(Start(o, &error), 0) << c.want;
    EXPECT_NE(error.find(c.want), std::string::npos) << "want '" << c.want << "' in: " << error;
  }
}

TEST_F(TlsTest, BeyondLoopbackOnlyWithTlsAndAToken) {
  struct Case {
    bool tls, token;
    std::string want;  // empty: starts
  };
  for (const auto& c : std::vector<Case>{{false, false, "missing: TLS and a token"},
                                         {true, false, "missing: a token"},
                                         {false, true, "missing: TLS"},
                                         {true, true, ""}}) {
    for (const char* addr : {"0.0.0.0:0", "[::]:0", "192.0.2.10:0"}) {
      auto o = Options();
      o.listen = {"127.0.0.1:0", addr};
      if (!c.tls) o.tls = {};
      if (!c.token) o.token_file.clear();
      std::string error;
      int port = Start(o, &error);
      if (c.want.empty()) {
        // 192.0.2.10 is not on this machine: it binds anyway (IP_FREEBIND).
        EXPECT_NE(port, 0) << addr << ": " << error;
        EXPECT_TRUE(server_->pending().empty()) << addr;
      } else {
        EXPECT_EQ(port, 0) << addr;
        EXPECT_NE(error.find(std::string("listen address ") + addr + " is beyond loopback"),
                  std::string::npos)
            << error;
        EXPECT_NE(error.find(c.want), std::string::npos) << error;
      }
      server_.reset();
    }
  }
  // Loopback needs neither.
  auto o = Options();
  o.listen = {"127.0.0.1:0", "[::1]:0", "127.0.0.2:0"};
  o.tls = {};
  o.token_file.clear();
  EXPECT_NE(Start(o), 0);
}

}  // namespace
}  // namespace gpuhost::testing
