// The front end's event loops share the connections: a burst, or
// connections opened one after another, ends up spread evenly, not on the
// one loop that woke for the listener (issue 14: p99 at 64 connections).
// HttpServer in-process, with a handler that answers "ok".
#include "report/http_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <numeric>
#include <thread>

#include "report/http_client.h"
#include "report/tls_client.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

const std::string kRequest = "GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n";

std::unique_ptr<report::HttpServer> StartServer(int loops, int* port,
                                                std::shared_ptr<report::TlsContext> tls = {}) {
  report::HttpLimits limits;
  limits.max_per_address = 256;
  auto server = std::make_unique<report::HttpServer>(limits, loops);
  server->SetHandler(
      [](const report::HttpRequest&) { return report::HttpReply::Text(200, "ok\n"); });
  if (tls) server->SetTls(std::move(tls));
  auto bound = server->Listen("127.0.0.1", 0);
  EXPECT_TRUE(bound.ok()) << bound.status().ToString();
  *port = bound.ok() ? *bound : 0;
  EXPECT_TRUE(server->Start().ok());
  return server;
}

// The same over TLS, with test certificates made in `certs` (ca.crt there
// verifies the server); port 0 when the certificates or the server failed.
std::unique_ptr<report::HttpServer> StartTlsServer(int loops, const std::string& certs, int* port) {
  *port = 0;
  if (!MakeTestCerts(certs)) {
    ADD_FAILURE() << "cannot make test certificates in " << certs;
    return nullptr;
  }
  auto tls = report::TlsContext::Load({certs + "/server.crt", certs + "/server.key", ""});
  if (!tls.ok()) {
    ADD_FAILURE() << tls.status().ToString();
    return nullptr;
  }
  return StartServer(loops, port, std::shared_ptr<report::TlsContext>(std::move(*tls)));
}

// Opens `n` keep-alive connections, all before the first request, then
// asks once on each, so every one was accepted and taken by its loop.
std::vector<int> OpenAndAsk(int port, int n) {
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) fds.push_back(ConnectLoopback(port));
  for (int fd : fds) {
    EXPECT_GE(fd, 0);
    EXPECT_TRUE(SendAll(fd, kRequest));
  }
  for (int fd : fds) EXPECT_EQ(ReadResponse(fd).status, 200);
  return fds;
}

// Polls until `ok` holds, for up to 3 s.
bool Eventually(const std::function<bool()>& ok) {
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (!ok()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

std::string Show(const std::vector<int>& held) {
  std::string s;
  for (int h : held) s += std::to_string(h) + " ";
  return s;
}

void ExpectSpread(const std::vector<int>& held, int total) {
  ASSERT_FALSE(held.empty());
  EXPECT_EQ(std::accumulate(held.begin(), held.end(), 0), total) << Show(held);
  // Two loops accepting at the same moment may each keep one more: off by
  // a few at most. Before, one loop held all 64 (or nearly).
  auto [lo, hi] = std::minmax_element(held.begin(), held.end());
  EXPECT_LE(*hi - *lo, 2) << "connections per loop: " << Show(held);
}

TEST(HttpServerTest, SixtyFourConnectionsAreSpreadOverTwoLoops) {
  int port = 0;
  auto server = StartServer(2, &port);
  ASSERT_NE(port, 0);
  auto fds = OpenAndAsk(port, 64);
  ExpectSpread(server->connections_per_loop(), 64);
  // Every connection still answers on its loop (keep-alive after the hand-off).
  for (int fd : fds) ASSERT_TRUE(SendAll(fd, kRequest));
  for (int fd : fds) EXPECT_EQ(ReadResponse(fd).status, 200);
  for (int fd : fds) close(fd);
  EXPECT_TRUE(Eventually([&] { return server->connections() == 0; }));
  EXPECT_EQ(server->connections_per_loop(), std::vector<int>({0, 0}));
}

TEST(HttpServerTest, ConnectionsOpenedOneByOneAreSpreadOverFourLoops) {
  int port = 0;
  auto server = StartServer(4, &port);
  ASSERT_NE(port, 0);
  std::vector<int> fds;
  for (int i = 0; i < 64; ++i) {
    int fd = ConnectLoopback(port);
    ASSERT_TRUE(SendAll(fd, kRequest));
    EXPECT_EQ(ReadResponse(fd).status, 200);
    fds.push_back(fd);
  }
  ExpectSpread(server->connections_per_loop(), 64);
  for (int fd : fds) close(fd);
  EXPECT_TRUE(Eventually([&] { return server->connections() == 0; }));
}

TEST(HttpServerTest, NewConnectionsGoWhereConnectionsClosed) {
  int port = 0;
  auto server = StartServer(2, &port);
  ASSERT_NE(port, 0);
  auto fds = OpenAndAsk(port, 32);
  // Closing every other connection may empty one loop more than the other;
  // the next 16 fill up the one with fewer first.
  for (size_t i = 0; i < fds.size(); i += 2) close(fds[i]);
  ASSERT_TRUE(Eventually([&] { return server->connections() == 16; }));
  auto more = OpenAndAsk(port, 16);
  ExpectSpread(server->connections_per_loop(), 32);
  for (size_t i = 1; i < fds.size(); i += 2) close(fds[i]);
  for (int fd : more) close(fd);
}

TEST(HttpServerTest, HandedTlsConnectionsCompleteTheirHandshake) {
  TempDir certs;
  int port = 0;
  auto server = StartTlsServer(2, certs.path(), &port);
  ASSERT_NE(port, 0);
  // Connections that never start their handshake hold one loop's count up,
  // so the TLS clients after them are handed to the other loop.
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(ConnectLoopback(port));
  ASSERT_TRUE(Eventually([&] { return server->connections() == 3; }));
  TlsClientOptions client;
  client.ca_file = certs.path() + "/ca.crt";
  std::vector<std::thread> clients;
  std::atomic<int> answered{0};
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      std::string error;
      auto r = TlsExchange(port, kRequest, client, &error);
      if (r.status == 200) ++answered;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(answered.load(), 8);
  for (int fd : idle) close(fd);
}

// TLS records that arrive together (read ahead into OpenSSL in one read, where
// epoll cannot see them) are all answered, not only the first.
TEST(HttpServerTest, TlsRequestsArrivingInOneSegmentAreAllAnswered) {
  TempDir certs;
  int port = 0;
  auto server = StartTlsServer(1, certs.path(), &port);
  ASSERT_NE(port, 0);
  TlsClientOptions client;
  client.ca_file = certs.path() + "/ca.crt";
  std::string error;
  EXPECT_EQ(TlsPipelined(port, {kRequest, kRequest, kRequest}, 3, client, &error), 3) << error;
  // And the requests of one record.
  EXPECT_EQ(TlsPipelined(port, {kRequest + kRequest}, 2, client, &error), 2) << error;
}

}  // namespace
}  // namespace gpuhost::testing
