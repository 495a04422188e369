// `gpuhost-agent serve` as systemd runs it: sd_notify READY=1 and watchdog
// pings over $NOTIFY_SOCKET, a clean exit on SIGTERM.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fileio.h"
#include "report/agent_process.h"
#include "report/http_client.h"
#include "report/state_fixtures.h"
#include "report/tls_client.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

// A notify socket like systemd's: datagrams, one message each.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0) << path;
  }
  ~NotifySocket() { close(fd_); }
  // The next message, or "" after `ms`.
  std::string Next(int ms) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) <= 0) return "";
    char buf[4096];
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  }

 private:
  std::string path_;
  int fd_ = -1;
};

TEST(ServeBinaryTest, NotifiesReadyAndPingsTheWatchdog) {
  TempDir dir;
  WriteState(dir.path(), H200State());
  std::string sock = dir.path() + "/notify";
  NotifySocket notify(sock);
  // WATCHDOG_USEC=400ms: a ping every 200 ms.
  ServeProcess server(dir.path(), {}, {"NOTIFY_SOCKET=" + sock, "WATCHDOG_USEC=400000"});
  ASSERT_NE(server.port(), 0);
  std::string first = notify.Next(2000);
  EXPECT_EQ(first.rfind("READY=1\nSTATUS=serving on 127.0.0.1:0 (port ", 0), 0u) << first;
  int pings = 0;
  auto start = std::chrono::steady_clock::now();
  while (pings < 4 && std::chrono::steady_clock::now() - start < std::chrono::seconds(3)) {
    if (notify.Next(1000) == "WATCHDOG=1") ++pings;
  }
  EXPECT_EQ(pings, 4);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1500));
  EXPECT_EQ(Get(server.port(), "/healthz").status, 200);
  EXPECT_EQ(server.Stop(), 0);
  // STOPPING=1 after the pings.
  std::string msg;
  for (int i = 0; i < 20 && msg != "STOPPING=1"; ++i) msg = notify.Next(500);
  EXPECT_EQ(msg, "STOPPING=1");
}

TEST(ServeBinaryTest, NoWatchdogWithoutWatchdogUsec) {
  TempDir dir;
  std::string sock = dir.path() + "/notify";
  NotifySocket notify(sock);
  ServeProcess server(dir.path(), {}, {"NOTIFY_SOCKET=" + sock});
  ASSERT_NE(server.port(), 0);
  EXPECT_EQ(notify.Next(2000).rfind("READY=1", 0), 0u);
  EXPECT_EQ(notify.Next(600), "");
  auto r = Get(server.port(), "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "no state yet: the agent has not finished a run\n");
}

// A loopback port free now (the policy refuses port 0, "any port").
int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

TEST(ServeBinaryTest, WithoutListenThePolicySaysWhere) {
  // As the unit runs it: no --listen, the policy comes as a credential.
  TempDir dir, creds;
  int port = FreePort();
  ASSERT_NE(port, 0);
  ASSERT_TRUE(WriteFileAtomic(
                  creds.path() + "/gpuhost.policy",
                  "{\"status_page\": {\"listen\": [\"127.0.0.1:" + std::to_string(port) + "\"]}}")
                  .ok());
  ServeProcess server(dir.path(), {}, {"CREDENTIALS_DIRECTORY=" + creds.path()}, false);
  ASSERT_EQ(server.port(), port);
  EXPECT_EQ(Get(server.port(), "/healthz").status, 503);
}

// serve --root reads the policy.json under the root, as apply and plan do,
// not the one of the machine it runs on.
TEST(ServeBinaryTest, WithoutListenThePolicyUnderTheRootSaysWhere) {
  TempDir root;
  int port = FreePort();
  ASSERT_NE(port, 0);
  ASSERT_TRUE(WriteFileAtomic(
                  root.path() + "/etc/gpuhost/policy.json",
                  "{\"status_page\": {\"listen\": [\"127.0.0.1:" + std::to_string(port) + "\"]}}")
                  .ok());
  ServeProcess server("/var/lib/gpuhost", {"--root", root.path()}, {}, false);
  ASSERT_EQ(server.port(), port);
  EXPECT_EQ(Get(server.port(), "/healthz").status, 503);
}

// The unit's way to TLS: the credentials gpuhost.tls-cert, gpuhost.tls-key and
// gpuhost.token, and an address beyond loopback from the credential gpuhost.listen.
TEST(ServeBinaryTest, CredentialsTurnOnTlsAndTheToken) {
  TempDir dir, creds;
  ASSERT_TRUE(MakeTestCerts(creds.path()));
  std::rename((creds.path() + "/server.crt").c_str(), (creds.path() + "/gpuhost.tls-cert").c_str());
  std::rename((creds.path() + "/server.key").c_str(), (creds.path() + "/gpuhost.tls-key").c_str());
  const std::string token = "fedcba9876543210fedcba9876543210";
  ASSERT_TRUE(WriteFileAtomic(creds.path() + "/gpuhost.token", token + "\n").ok());
  int port = FreePort();
  ASSERT_NE(port, 0);
  // The credential gpuhost.listen comes before the policy's list.
  ASSERT_TRUE(WriteFileAtomic(creds.path() + "/gpuhost.policy",
                              "{\"status_page\": {\"listen\": [\"127.0.0.1:1\"]}}")
                  .ok());
  ASSERT_TRUE(
      WriteFileAtomic(creds.path() + "/gpuhost.listen", "0.0.0.0:" + std::to_string(port) + "\n")
          .ok());
  ServeProcess server(dir.path(), {}, {"CREDENTIALS_DIRECTORY=" + creds.path()}, false);
  ASSERT_EQ(server.port(), port);
  TlsClientOptions client;
  client.ca_file = creds.path() + "/ca.crt";
  EXPECT_EQ(TlsGet(port, "/healthz", client).status, 503);  // no state yet
  EXPECT_EQ(TlsGet(port, "/api/v1/status", client).status, 401);
  EXPECT_EQ(TlsGet(port, "/api/v1/status", client, token).status, 200);
}

TEST(ServeBinaryTest, BeyondLoopbackWithoutTlsExitsWithAMessage) {
  int status = 0;
  std::string out = RunCommand(
      AgentBinary() + " serve --listen 0.0.0.0:0 --state-dir /nonexistent 2>&1", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("listen address 0.0.0.0:0 is beyond loopback"), std::string::npos) << out;
  EXPECT_NE(out.find("missing: TLS and a token"), std::string::npos) << out;
  out = RunCommand(AgentBinary() + " serve --listen 127.0.0.1:0 --max-per-address 0 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--max-per-address '0': want a whole number 1..1000000"), std::string::npos)
      << out;
  out = RunCommand(AgentBinary() + " serve --listen 127.0.0.1:0 --max-handshakes 0 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--max-handshakes '0': want a whole number 1..1000000"), std::string::npos)
      << out;
  out = RunCommand(AgentBinary() + " serve --listen 127.0.0.1:0 --event-loops 65 2>&1", &status);
  EXPECT_EQ(status, 2);
  EXPECT_NE(out.find("--event-loops '65': want a whole number 1..64"), std::string::npos) << out;
}

// --max-handshakes reaches the front end: with one slot per loop and one
// loop's slot held by a stalled client, two more clients cannot both finish
// until it hangs up (two loops asked for, whatever the CPUs;
// tests/report/tls_handshake_test.cc covers the cap itself).
TEST(ServeBinaryTest, MaxHandshakesIsTheFrontEndsCap) {
  TempDir dir, certs;
  ASSERT_TRUE(MakeTestCerts(certs.path()));
  ASSERT_TRUE(WriteFileAtomic(certs.path() + "/token", "fedcba9876543210fedcba9876543210\n").ok());
  WriteState(dir.path(), H200State());
  ServeProcess server(
      dir.path(),
      {"--tls-cert", certs.path() + "/server.crt", "--tls-key", certs.path() + "/server.key",
       "--token-file", certs.path() + "/token", "--max-handshakes", "1", "--event-loops", "2"});
  ASSERT_NE(server.port(), 0);
  TlsClientOptions client;
  client.ca_file = certs.path() + "/ca.crt";
  std::vector<std::unique_ptr<StalledTlsClient>> stalled;
  for (int a = 2; a <= 3; ++a) {  // one per loop: the loops share connections evenly
    stalled.push_back(
        std::make_unique<StalledTlsClient>(server.port(), "127.0.0." + std::to_string(a)));
    ASSERT_TRUE(stalled.back()->ok());
  }
  std::atomic<int> answered{0};
  std::thread waiting([&] {
    if (TlsGet(server.port(), "/healthz", client).status != 0) ++answered;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  EXPECT_EQ(answered.load(), 0) << "answered while both loops' one slot was held";
  stalled.clear();
  waiting.join();
  EXPECT_EQ(answered.load(), 1);
}

TEST(ServeBinaryTest, BadListenAddressExitsWithAMessage) {
  int status = 0;
  std::string out = RunCommand(AgentBinary() + " serve --listen localhost:8080 2>&1", &status);
  EXPECT_EQ(status, 1);
  EXPECT_NE(out.find("'localhost' is not an IP address"), std::string::npos) << out;
}

// A result from another boot: the machine it describes is gone.
TEST(ServeBinaryTest, AResultFromAnotherBootIsStale) {
  TempDir root;
  const std::string this_boot = "0b7e1e57-0000-4000-8000-00000000000b";
  const std::string other_boot = "a1d3b007-0000-4000-8000-00000000000a";
  ASSERT_TRUE(
      WriteFileAtomic(root.path() + "/proc/sys/kernel/random/boot_id", this_boot + "\n").ok());
  auto s = H200State();
  s.boot_id = other_boot;
  WriteState(root.path() + "/var/lib/gpuhost", s);
  ServeProcess server("/var/lib/gpuhost", {"--root", root.path()});
  ASSERT_NE(server.port(), 0);
  auto health = Get(server.port(), "/healthz");
  EXPECT_EQ(health.status, 503);
  EXPECT_EQ(health.body,
            "stale: result from boot " + other_boot + ", this is boot " + this_boot + "\n");
  auto api = nlohmann::json::parse(Get(server.port(), "/api/v1/status").body);
  EXPECT_EQ(api["health"]["status"], "stale");
  EXPECT_EQ(api["freshness"]["current"], false);
  std::string metrics = Get(server.port(), "/metrics").body;
  EXPECT_NE(metrics.find("\ngpuhost_result_current 0\n"), std::string::npos) << metrics;
  // The same result written in this boot is current.
  s.boot_id = this_boot;
  WriteState(root.path() + "/var/lib/gpuhost", s);
  EXPECT_EQ(Get(server.port(), "/healthz").status, 200);
}

TEST(ServeBinaryTest, SmallWhenIdle) {
  TempDir dir;
  TempDir scratch;
  WriteState(dir.path(), GpuServerState(scratch.path()));
  ServeProcess server(dir.path());
  ASSERT_NE(server.port(), 0);
  for (const char* p : {"/", "/api/v1/status", "/metrics", "/healthz"}) {
    EXPECT_EQ(Get(server.port(), p).status, 200) << p;
  }
  // serve's own memory. VmRSS also counts every shared library the agent
  // binary links (about 9 MiB without libvirt's dependencies, 18 with them):
  // bench/serve_bench.sh reports both.
  EXPECT_LT(server.AnonymousKib(), 8 * 1024) << "anonymous KiB";
  EXPECT_LT(server.RssKib(), 24 * 1024) << "VmRSS KiB";
  std::printf("VmRSS %ld KiB, anonymous %ld KiB\n", server.RssKib(), server.AnonymousKib());
}

}  // namespace
}  // namespace gpuhost::testing
