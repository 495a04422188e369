// The front end's cap on TLS handshakes in progress (HttpLimits::
// max_handshakes, report/handshake_gate.h): clients that start a handshake
// and never finish it hold at most the cap, the rest wait, and every way a
// handshake ends gives its slot back. A slot kept would stop TLS for good,
// so each test ends with a well-behaved client served. HttpServer
// in-process with a handler that answers "ok"; clients from 127.0.0.x.
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <numeric>
#include <thread>

#include "report/http_client.h"
#include "report/http_server.h"
#include "report/tls_client.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kRequest =
    "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";

int64_t MillisSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// Polls until `ok` holds, for up to 5 s (ctest runs beside builds on two cores).
bool Eventually(const std::function<bool()>& ok) {
  auto end = Clock::now() + std::chrono::seconds(5);
  while (!ok()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string Ip(int i) { return "127.0.0." + std::to_string(i); }

class TlsHandshakeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    certs_ = new TempDir;
    ASSERT_TRUE(MakeTestCerts(certs_->path()));
  }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override { client_.ca_file = certs_->path() + "/ca.crt"; }
  void TearDown() override {
    if (!server_) return;
    EXPECT_LE(server_->handshakes_peak(), limits_.max_handshakes) << "the cap held throughout";
  }

  // One loop unless told; the per-address connection limit out of the way.
  void Start(int loops = 1) {
    limits_.max_per_address = 256;
    auto tls = report::TlsContext::Load(
        {certs_->path() + "/server.crt", certs_->path() + "/server.key", ""});
    ASSERT_TRUE(tls.ok()) << tls.status().ToString();
    server_ = std::make_unique<report::HttpServer>(limits_, loops);
    server_->SetHandler(
        [](const report::HttpRequest&) { return report::HttpReply::Text(200, "ok\n"); });
    server_->SetTls(std::shared_ptr<report::TlsContext>(std::move(*tls)));
    auto bound = server_->Listen("127.0.0.1", 0);
    ASSERT_TRUE(bound.ok()) << bound.status().ToString();
    port_ = *bound;
    ASSERT_TRUE(server_->Start().ok());
  }

  int InFlight() const {
    auto per_loop = server_->handshakes_per_loop();
    return std::accumulate(per_loop.begin(), per_loop.end(), 0);
  }
  // Opens `n` stalled clients from `ip`; each holds a slot or waits for one.
  void Stall(int n, const std::string& ip) {
    for (int i = 0; i < n; ++i) {
      stalled_.push_back(std::make_unique<StalledTlsClient>(port_, ip));
      ASSERT_TRUE(stalled_.back()->ok());
    }
  }
  bool Counts(int in_flight, int waiting) const {
    return Eventually(
        [&] { return InFlight() == in_flight && server_->handshakes_waiting() == waiting; });
  }
  std::string Show() const {
    return "in flight " + std::to_string(InFlight()) + ", waiting " +
           std::to_string(server_->handshakes_waiting()) + ", connections " +
           std::to_string(server_->connections());
  }
  // A well-behaved client from `ip` completes its handshake and is answered.
  void ExpectServed(const std::string& ip = "127.0.0.1") {
    TlsClientOptions c = client_;
    c.source_ip = ip;
    std::string error;
    auto r = TlsExchange(port_, kRequest, c, &error);
    EXPECT_EQ(r.status, 200) << error << "; " << Show();
  }
  void ExpectAllGone() {
    EXPECT_TRUE(Counts(0, 0)) << Show();
    EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; })) << Show();
  }

  static TempDir* certs_;
  report::HttpLimits limits_;
  TlsClientOptions client_;
  std::unique_ptr<report::HttpServer> server_;
  int port_ = 0;
  std::vector<std::unique_ptr<StalledTlsClient>> stalled_;
};

TempDir* TlsHandshakeTest::certs_ = nullptr;

// N + k clients stall their handshakes: N hold the slots, k wait. A later
// client waits too, and is served once the stalled ones time out.
TEST_F(TlsHandshakeTest, StalledHandshakesHoldAtMostTheCapUntilTheyTimeOut) {
  limits_.max_handshakes = 4;
  limits_.head_timeout_ms = 2000;
  Start();
  for (int a = 2; a <= 6; ++a) Stall(2, Ip(a));  // 10 from five addresses, 2 each (the share)
  ASSERT_TRUE(Counts(4, 6)) << Show();
  // Later than the stalled ones by a second, so they time out well before it would.
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto start = Clock::now();
  std::thread late([&] { ExpectServed(); });
  EXPECT_TRUE(Counts(4, 7)) << "the late client waits its turn: " << Show();
  late.join();
  EXPECT_GE(MillisSince(start), 500) << "served before any stalled handshake ended";
  EXPECT_EQ(server_->handshakes_peak(), 4);
  ExpectAllGone();
}

// The same, ended by the clients: a reset or a close, of handshakes that
// hold a slot and of connections that wait for one.
TEST_F(TlsHandshakeTest, StalledHandshakesThatHangUpGiveTheirSlotsBack) {
  limits_.max_handshakes = 4;
  limits_.head_timeout_ms = 60000;  // a slot given back only at the timeout fails below
  Start();
  for (int a = 2; a <= 3; ++a) Stall(2, Ip(a));
  ASSERT_TRUE(Counts(4, 0)) << Show();
  Stall(1, Ip(4));
  Stall(1, Ip(5));
  ASSERT_TRUE(Counts(4, 2)) << Show();
  stalled_[4]->Reset();
  stalled_[5].reset();  // a FIN
  EXPECT_TRUE(Counts(4, 0)) << "waiting connections that hung up are closed: " << Show();
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 4; })) << Show();
  std::thread late([&] { ExpectServed(); });
  EXPECT_TRUE(Counts(4, 1)) << Show();
  stalled_[0]->Reset();
  stalled_[1]->Reset();
  stalled_[2].reset();
  stalled_[3].reset();
  late.join();
  ExpectAllGone();
  EXPECT_EQ(server_->handshakes_peak(), 4);
}

// Handshakes that fail, each tried more often than there are slots, from
// the one address whose share is a single slot: one slot kept by any of
// them and the last client waits for a minute.
TEST_F(TlsHandshakeTest, FailedHandshakesGiveTheirSlotsBack) {
  limits_.max_handshakes = 2;  // one per address
  limits_.head_timeout_ms = 60000;
  Start();
  auto send_and_expect_close = [&](const std::string& bytes) {
    int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    SendAll(fd, bytes);
    EXPECT_TRUE(ClosedWithin(fd, 3000)) << Show();
    close(fd);
  };
  for (int i = 0; i < 4; ++i) {
    send_and_expect_close(std::string("\x00\xff garbage \x16\x03\x01\x00", 14) +
                          std::string(300, 'x'));
    send_and_expect_close("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");  // plain HTTP
    // A handshake record longer than TLS allows.
    send_and_expect_close(std::string("\x16\x03\x01\xff\xff", 5) + std::string(64, '\x01'));
    // An old protocol, refused.
    TlsClientOptions old = client_;
    old.max_version = TLS1_1_VERSION;
    EXPECT_EQ(TlsExchange(port_, kRequest, old).status, 0);
    // A ClientHello, then a reset or a close in the middle of the handshake.
    StalledTlsClient reset(port_, "127.0.0.1"), fin(port_, "127.0.0.2");
    ASSERT_TRUE(reset.ok() && fin.ok());
    ASSERT_TRUE(Counts(2, 0)) << Show();
    reset.Reset();
    // Connected and closed without a byte.
    int fd = ConnectLoopback(port_);
    close(fd);
  }
  ExpectAllGone();
  ExpectServed();
  ExpectServed("127.0.0.2");
  ExpectAllGone();
}

// Connections that send nothing hold no OpenSSL state and no slot.
TEST_F(TlsHandshakeTest, SilentConnectionsTakeNoSlot) {
  limits_.max_handshakes = 1;
  Start();
  std::vector<int> silent;
  for (int i = 0; i < 20; ++i) silent.push_back(ConnectLoopback(port_));
  ASSERT_TRUE(Eventually([&] { return server_->connections() == 20; })) << Show();
  EXPECT_EQ(InFlight(), 0);
  ExpectServed();
  for (int fd : silent) close(fd);
  ExpectAllGone();
}

// One address that stalls its handshakes holds half of the slots; another
// address is served at once.
TEST_F(TlsHandshakeTest, OneAddressCannotHoldEverySlot) {
  limits_.max_handshakes = 4;
  limits_.head_timeout_ms = 60000;
  Start();
  Stall(6, Ip(2));
  ASSERT_TRUE(Counts(2, 4)) << Show();
  auto start = Clock::now();
  ExpectServed();
  EXPECT_LT(MillisSince(start), 3000);
  stalled_.clear();
  ExpectAllGone();
}

// A connection beyond the connection limits (a reserved slot: /healthz
// once) does not wait for a handshake slot: /healthz answers while
// ordinary handshakes crowd them.
TEST_F(TlsHandshakeTest, ReservedConnectionsDoNotWaitForASlot) {
  limits_.max_handshakes = 2;
  limits_.max_connections = 2;
  limits_.head_timeout_ms = 60000;
  Start();
  Stall(1, Ip(2));
  Stall(1, Ip(3));
  ASSERT_TRUE(Counts(2, 0)) << Show();
  ExpectServed("127.0.0.4");  // the third connection: reserved
  EXPECT_EQ(InFlight(), 2) << "it took no slot";
  stalled_.clear();
  ExpectAllGone();
}

// The cap is per event loop; a burst spread over two loops runs at most
// twice the cap at once.
TEST_F(TlsHandshakeTest, TheCapIsPerLoop) {
  limits_.max_handshakes = 2;
  limits_.head_timeout_ms = 60000;
  Start(2);
  for (int a = 2; a <= 9; ++a) Stall(1, Ip(a));
  ASSERT_TRUE(Counts(4, 4)) << Show();
  EXPECT_EQ(server_->handshakes_per_loop(), std::vector<int>({2, 2}));
  stalled_.clear();
  ExpectAllGone();
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) clients.emplace_back([&, i] { ExpectServed(Ip(2 + i % 4)); });
  for (auto& t : clients) t.join();
  EXPECT_EQ(server_->handshakes_peak(), 2);
}

}  // namespace
}  // namespace gpuhost::testing
