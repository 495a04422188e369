// Hostile clients on loopback. After each, the server still answers /healthz
// promptly. Most run against the real binary; the ones that need short
// timeouts or a small connection limit run the server in-process.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "report/agent_process.h"
#include "report/http_client.h"
#include "report/serve.h"
#include "report/state_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using Clock = std::chrono::steady_clock;

int64_t MillisSince(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

// /healthz answers 200 within `ms`: generous, since ctest runs Chromium and
// builds beside us on two cores; a blocked server would take the 10 s timeout.
void ExpectHealthy(int port, int ms = 2000) {
  auto start = Clock::now();
  auto r = Get(port, "/healthz");
  EXPECT_EQ(r.status, 200) << r.raw;
  EXPECT_LT(MillisSince(start), ms);
}

class AbuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = H200State();
    s.result = "ok";
    s.warnings.clear();
    WriteState(dir_.path(), s);
    server_ = std::make_unique<ServeProcess>(dir_.path());
    port_ = server_->port();
    ASSERT_NE(port_, 0);
    ExpectHealthy(port_);
  }
  void TearDown() override {
    EXPECT_TRUE(server_->Running()) << "the server died";
    // Memory stays small after all of it.
    EXPECT_LT(server_->AnonymousKib(), 16 * 1024);
    EXPECT_EQ(server_->Stop(), 0);
  }
  TempDir dir_;
  std::unique_ptr<ServeProcess> server_;
  int port_ = 0;
};

TEST_F(AbuseTest, OversizedRequestLine) {
  for (size_t len : {3000ul, 9000ul, 1000000ul}) {
    int fd = ConnectLoopback(port_);
    // The server answers 414 as soon as the line is too long and closes:
    // the rest may not even be sent.
    SendAll(fd, "GET /" + std::string(len, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
    auto r = ReadResponse(fd);
    EXPECT_EQ(r.status, 414) << len;
    EXPECT_EQ(r.headers["connection"], "close");
    close(fd);
    ExpectHealthy(port_);
  }
}

TEST_F(AbuseTest, TenThousandHeaders) {
  std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 10000; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  req += "\r\n";
  int fd = ConnectLoopback(port_);
  SendAll(fd, req);
  auto r = ReadResponse(fd);
  EXPECT_EQ(r.status, 431);
  close(fd);
  // 65 small headers fit in the head but not under the count limit.
  std::string many = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 65; ++i) many += "X: " + std::to_string(i) + "\r\n";
  EXPECT_EQ(Exchange(port_, many + "\r\n").status, 431);
  ExpectHealthy(port_);
}

TEST_F(AbuseTest, SlowClientsDoNotBlockOthers) {
  // 200 clients drip a request one byte every 100 ms (a slowloris) while
  // /healthz is asked 20 times: every answer comes within a second (a
  // thread-per-connection server with fewer than 200 threads would not
  // answer before the drips time out). They would come from many addresses:
  // the per-address limit is lifted (one address: OneAddressHolding... below).
  server_ = std::make_unique<ServeProcess>(dir_.path(),
                                           std::vector<std::string>{"--max-per-address", "300"});
  port_ = server_->port();
  ASSERT_NE(port_, 0);
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  std::atomic<bool> done{false};
  std::thread drip([&] {
    const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: 1234567890\r\n";
    for (size_t i = 0; i < req.size() && !done; ++i) {
      for (int fd : fds) send(fd, &req[i], 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  for (int i = 0; i < 20; ++i) {
    ExpectHealthy(port_, 1000);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  done = true;
  drip.join();
  for (int fd : fds) close(fd);
  ExpectHealthy(port_);
}

TEST_F(AbuseTest, GarbageBytes) {
  std::mt19937 rng(20261125);
  auto random_bytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  std::vector<std::string> inputs = {
      random_bytes(100) + "\r\n\r\n",
      random_bytes(65536),
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + random_bytes(500),  // TLS
      std::string(4096, '\0'),
      "\r\n\r\n\r\n\r\n",
      "GET / HTTP/1.1\nHost: x\n\n",  // bare LF
      "GET / HTTP/1.1\r\nHost: x\r\nBad\x01Header: 1\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\n: no name\r\n\r\n",
      "GET / HTTP/1.1\r\nHost : x\r\n\r\n",                      // space before the colon
      "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n",  // obs-fold
      "GET\r\n\r\n",
      "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
  };
  for (int i = 0; i < 20; ++i) inputs.push_back(random_bytes(rng() % 3000));
  for (const auto& in : inputs) {
    int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    SendAll(fd, in);
    shutdown(fd, SHUT_WR);
    auto r = ReadResponse(fd);
    // A 4xx, or closed without an answer; never a 200 or a hang.
    EXPECT_TRUE(r.status == 0 || (r.status >= 400 && r.status < 500)) << r.status;
    EXPECT_TRUE(ClosedWithin(fd, 3000));
    close(fd);
  }
  ExpectHealthy(port_);
}

TEST_F(AbuseTest, ManyKeepAliveClients) {
  // 300 connections from one address (allowed by --max-per-address), each
  // asks twice on the same connection.
  server_ = std::make_unique<ServeProcess>(dir_.path(),
                                           std::vector<std::string>{"--max-per-address", "300"});
  port_ = server_->port();
  ASSERT_NE(port_, 0);
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) fds.push_back(ConnectLoopback(port_));
  const std::string req = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
  for (int round = 0; round < 2; ++round) {
    for (int fd : fds) ASSERT_TRUE(SendAll(fd, req));
    for (int fd : fds) EXPECT_EQ(ReadResponse(fd).status, 200);
  }
  for (int fd : fds) close(fd);
  ExpectHealthy(port_);
}

// In-process, with short timeouts and a small connection limit.
class LimitsTest : public ::testing::Test {
 protected:
  void Start(const report::HttpLimits& limits) {
    auto s = H200State();
    s.result = "ok";
    s.warnings.clear();
    WriteState(dir_.path(), s);
    report::ServeOptions opts;
    opts.listen = {"127.0.0.1:0"};
    opts.state_dir = dir_.path();
    opts.limits = limits;
    server_ = std::make_unique<report::StatusServer>(opts);
    auto ports = server_->Start();
    ASSERT_TRUE(ports.ok()) << ports.status().ToString();
    port_ = (*ports)[0];
  }
  TempDir dir_;
  std::unique_ptr<report::StatusServer> server_;
  int port_ = 0;
};

TEST_F(LimitsTest, SlowHeadTimesOutWith408) {
  report::HttpLimits l;
  l.head_timeout_ms = 400;
  Start(l);
  int fd = ConnectLoopback(port_);
  auto start = Clock::now();
  SendAll(fd, "GET /healthz HTTP/1.1\r\n");
  std::thread drip([fd] {
    for (int i = 0; i < 10; ++i) {
      if (send(fd, "X", 1, MSG_NOSIGNAL) <= 0) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  auto r = ReadResponse(fd);
  drip.join();
  EXPECT_EQ(r.status, 408);
  EXPECT_LT(MillisSince(start), 1500);
  close(fd);
  ExpectHealthy(port_);
}

TEST_F(LimitsTest, IdleKeepAliveConnectionsAreClosed) {
  report::HttpLimits l;
  l.idle_timeout_ms = 300;
  Start(l);
  int fd = ConnectLoopback(port_);
  SendAll(fd, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  EXPECT_EQ(ReadResponse(fd).status, 200);
  EXPECT_TRUE(ClosedWithin(fd, 1500));
  close(fd);
  // The server closes the socket before it drops the connection from its count: a loaded
  // machine can read the count in between (seen with ctest -j2 beside image builds).
  auto start = Clock::now();
  while (server_->http().connections() > 0 && MillisSince(start) < 1000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(server_->http().connections(), 0);
}

TEST_F(LimitsTest, ConnectionLimitAnswers503AndRecovers) {
  report::HttpLimits l;
  l.max_connections = 16;
  l.reserved_connections = 0;
  l.idle_timeout_ms = 500;
  Start(l);
  std::vector<int> fds;
  for (int i = 0; i < 16; ++i) fds.push_back(ConnectLoopback(port_));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(server_->http().connections(), 16);
  auto r = Get(port_, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "too many connections\n");
  for (int fd : fds) close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ExpectHealthy(port_);
}

// One address holds hundreds of idle connections: it gets its share, the
// rest is refused or parked on a reserved slot for a moment, and /healthz
// from that same address is answered 200 or 503 every time, never reset,
// and 200 again within the reserved slots' timeout. 500: more than the
// refusals a loop keeps lingering (256) beyond the 64 + 16 slots, so the
// oldest refusals must make room for the new ones (bench/serve_abuse.py
// found /healthz closed without a word at 600).
TEST_F(LimitsTest, OneAddressHoldingHundredsOfIdleConnections) {
  report::HttpLimits l;  // the defaults: 64 per address, 16 reserved for 2 s
  Start(l);
  std::vector<int> fds;
  for (int i = 0; i < 500; ++i) {
    int fd = ConnectLoopback(port_);
    ASSERT_GE(fd, 0);
    fds.push_back(fd);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_LE(server_->http().connections(), l.max_per_address + l.reserved_connections);
  // A new connection from that address may not ask for the page now.
  auto page = Get(port_, "/");
  EXPECT_EQ(page.status, 503) << page.raw;
  auto start = Clock::now();
  int ok = 0, busy = 0;
  while (MillisSince(start) < 5000 && ok == 0) {
    auto r = Get(port_, "/healthz");
    ASSERT_TRUE(r.status == 200 || r.status == 503) << "no answer: '" << r.raw << "'";
    (r.status == 200 ? ok : busy)++;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok, 1) << "healthz answered 200 within 5 s (" << busy << " times 503 before)";
  // Once they close, the address gets its ordinary slots back.
  for (int fd : fds) close(fd);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ExpectHealthy(port_);
  EXPECT_EQ(Get(port_, "/").status, 200);
}

TEST_F(LimitsTest, AReservedConnectionAnswersOnlyHealthzAndCloses) {
  report::HttpLimits l;
  l.max_per_address = 2;
  Start(l);
  int a = ConnectLoopback(port_), b = ConnectLoopback(port_);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  int c = ConnectLoopback(port_);  // the third from 127.0.0.1: a reserved slot
  SendAll(c, "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
  auto r = ReadResponse(c);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(ClosedWithin(c, 1000));
  close(c);
  auto m = Get(port_, "/metrics");
  EXPECT_EQ(m.status, 503);
  EXPECT_EQ(m.body, "too many connections: only /healthz is answered now\n");
  close(a);
  close(b);
}

TEST_F(LimitsTest, ClientThatNeverReadsIsDropped) {
  report::HttpLimits l;
  l.write_timeout_ms = 300;
  Start(l);
  int fd = ConnectLoopback(port_);
  int small = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::string req = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
  std::string many;
  for (int i = 0; i < 2000; ++i) many += req;
  SendAll(fd, many);  // pipelined, never read: megabytes of answers pile up
  auto start = Clock::now();
  while (server_->http().connections() == 0 && MillisSince(start) < 1000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(server_->http().connections(), 1);
  start = Clock::now();
  while (server_->http().connections() > 0 && MillisSince(start) < 3000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(server_->http().connections(), 0);
  EXPECT_GE(MillisSince(start), 200);  // dropped by the write timeout, not before
  close(fd);
  ExpectHealthy(port_);
}

}  // namespace
}  // namespace gpuhost::testing
