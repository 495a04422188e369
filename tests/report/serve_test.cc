// The status server in-process on a loopback ephemeral port, against state
// files written by the test.
#include "report/serve.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "report/http_client.h"
#include "report/state_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using result::Outcome;

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    report::ServeOptions opts;
    opts.listen = {"127.0.0.1:0"};
    opts.state_dir = dir_.path();
    opts.hostname = "h200";
    server_ = std::make_unique<report::StatusServer>(opts);
    auto ports = server_->Start();
    ASSERT_TRUE(ports.ok()) << ports.status().ToString();
    port_ = (*ports)[0];
  }
  HttpResponse Req(const std::string& method, const std::string& path,
                   const std::string& extra_headers = "") {
    return Exchange(port_,
                    method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                        "\r\nConnection: close\r\n" + extra_headers + "\r\n",
                    method == "HEAD");
  }
  TempDir dir_;
  std::unique_ptr<report::StatusServer> server_;
  int port_ = 0;
};

TEST_F(ServeTest, HealthzFollowsTheStateFile) {
  auto r = Get(port_, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "no state yet: the agent has not finished a run\n");

  WriteState(dir_.path(), H200State());
  r = Get(port_, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "degraded: 0000:00:06.0: no reset_method: one VM start per host boot\n");

  auto failed = H200State();
  failed.result = "failed";
  failed.actions[1].outcome = Outcome::kFailed;
  failed.actions[1].message = "still bound to nvidia";
  WriteState(dir_.path(), failed);
  r = Get(port_, "/healthz");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, "failed: bind-vfio 0000:00:06.0 failed: still bound to nvidia\n");

  auto ok = H200State();
  ok.result = "ok";
  ok.warnings.clear();
  WriteState(dir_.path(), ok);
  r = Get(port_, "/healthz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.headers["content-type"], "text/plain; charset=utf-8");
}

TEST_F(ServeTest, EveryResponseCarriesTheSecurityHeaders) {
  WriteState(dir_.path(), H200State());
  for (const char* path : {"/", "/healthz", "/api/v1/status", "/metrics", "/nope"}) {
    auto r = Get(port_, path);
    ASSERT_NE(r.status, 0) << path;
    EXPECT_EQ(r.headers["x-content-type-options"], "nosniff") << path;
    EXPECT_EQ(r.headers["x-frame-options"], "DENY") << path;
    EXPECT_NE(r.headers["content-security-policy"].find("default-src 'none'"), std::string::npos);
    EXPECT_NE(r.headers["content-security-policy"].find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(r.headers["cache-control"], "no-store");
  }
  auto bad = Exchange(port_, std::string(3000, 'A') + "\r\n\r\n");
  EXPECT_EQ(bad.status, 414);
  EXPECT_EQ(bad.headers["x-content-type-options"], "nosniff");
}

TEST_F(ServeTest, PageApiAndMetrics) {
  WriteState(dir_.path(), H200State());
  auto page = Get(port_, "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<table id=\"gpus\">"), std::string::npos);

  auto api = Get(port_, "/api/v1/status");
  EXPECT_EQ(api.status, 200);
  EXPECT_EQ(api.headers["content-type"], "application/json");
  auto j = nlohmann::json::parse(api.body);
  EXPECT_EQ(j["api_version"], 1);
  EXPECT_EQ(j["hostname"], "h200");
  EXPECT_EQ(j["health"]["status"], "degraded");
  EXPECT_EQ(j["health"]["healthy"], true);
  ASSERT_EQ(j["gpus"].size(), 1u);
  EXPECT_EQ(j["gpus"][0]["address"], "0000:00:06.0");
  EXPECT_EQ(j["gpus"][0]["assignment"], "vfio");
  EXPECT_EQ(j["gpus"][0]["driver"], "nvidia");
  EXPECT_EQ(j["gpus"][0]["rule"], "policy gpus[0] (H200 for VMs)");
  EXPECT_EQ(j["kernel_params"]["missing"], nlohmann::json({"intel_iommu=on", "iommu=pt"}));
  EXPECT_EQ(j["kernel_params"]["in_effect"][1], "console=ttyS0");
  EXPECT_EQ(j["modules"][0]["name"], "vfio_pci");
  EXPECT_EQ(j["modules"][0]["check"]["ok"], true);
  EXPECT_EQ(j["run"]["timings_us"]["total"], 853350);
  EXPECT_EQ(j["run"]["checks"].size(), 2u);
  EXPECT_EQ(j["warnings"].size(), 1u);
  EXPECT_EQ(j["machine"]["kernel_release"], "6.18.44-fc-v657-gpu");

  auto m = Get(port_, "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(m.body.find("\ngpuhost_gpus{assignment=\"vfio\"} 1\n"), std::string::npos);
}

TEST_F(ServeTest, WithoutStateTheApiSaysWhy) {
  auto j = nlohmann::json::parse(Get(port_, "/api/v1/status").body);
  EXPECT_EQ(j["health"]["status"], "no-state");
  EXPECT_EQ(j["health"]["healthy"], false);
  EXPECT_FALSE(j.contains("gpus"));
}

TEST_F(ServeTest, HeadHasHeadersButNoBody) {
  WriteState(dir_.path(), H200State());
  int fd = ConnectLoopback(port_);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd,
                      "HEAD /api/v1/status HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto head = ReadResponse(fd, true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.headers["content-type"], "application/json");
  auto next = ReadResponse(fd);  // the HEAD response had no body in the way
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body.substr(0, 9), "degraded:");
  close(fd);
}

TEST_F(ServeTest, OnlyGetAndHead) {
  for (const char* m : {"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT"}) {
    auto r = Req(m, "/healthz");
    EXPECT_EQ(r.status, 405) << m;
    EXPECT_EQ(r.headers["allow"], "GET, HEAD") << m;
  }
  // A body is never read: the connection closes after the 405, so the body
  // cannot be taken for a second request.
  int fd = ConnectLoopback(port_);
  ASSERT_TRUE(SendAll(fd,
                      "POST /healthz HTTP/1.1\r\nHost: localhost\r\nContent-Length: 44\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  auto r = ReadResponse(fd);
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers["connection"], "close");
  EXPECT_TRUE(ClosedWithin(fd, 3000));
  close(fd);
}

TEST_F(ServeTest, UnknownHostsAreRefused) {
  EXPECT_EQ(Exchange(port_, "GET /metrics HTTP/1.1\r\nHost: evil.example\r\n\r\n").status, 421);
  // Two Host headers: which one counts is ambiguous, so neither does.
  EXPECT_EQ(Req("GET", "/metrics", "Host: evil.example\r\n").status, 400);
  for (const char* host : {"localhost", "localhost:8080", "127.0.0.1", "[::1]:8080", "h200:1"}) {
    auto r = Exchange(port_, std::string("GET /metrics HTTP/1.1\r\nHost: ") + host +
                                 "\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(r.status, 200) << host;
  }
  EXPECT_EQ(Exchange(port_, "GET /metrics HTTP/1.1\r\n\r\n").status, 400);  // 1.1 needs Host
  EXPECT_EQ(Exchange(port_, "GET /metrics HTTP/1.0\r\n\r\n").status, 200);
  auto r = Exchange(port_, "GET /healthz HTTP/1.1\r\nHost: rebind.attacker.example:80\r\n\r\n");
  EXPECT_EQ(r.status, 421);
  EXPECT_EQ(r.body, "unknown host\n");
}

TEST_F(ServeTest, NeverEchoesInput) {
  const std::string marker = "ZqX7marker";
  std::vector<std::string> requests = {
      "GET /" + marker + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz?" + marker + "=<script> HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: " + marker + "\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-" + marker + ": " + marker + "\r\n\r\n",
      marker + " /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /healthz HTTP/1." + marker + "\r\nHost: 127.0.0.1\r\n\r\n",
      "GET /" + marker + "\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: " + marker + "\r\n\r\n",
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nREMOTE_ADDR: " + marker + "\r\n\r\n",
  };
  for (const auto& req : requests) {
    auto r = Exchange(port_, req);
    EXPECT_NE(r.status, 0) << req;
    EXPECT_EQ(r.raw.find(marker), std::string::npos) << req << "\n---\n" << r.raw;
  }
}

TEST_F(ServeTest, AmbiguousHeadsAre400) {
  using namespace std::string_literals;
  for (const std::string& head : {
           "GET /healthz HTTP/1.1\r\nHost : localhost\r\n\r\n"s,
           "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX: 1\r\n continued\r\n\r\n"s,
           "GET /healthz HTTP/1.1\r\nHost: localhost\r\nX: a\nY: b\r\n\r\n"s,
           "GET /healthz HTTP/1.1\r\nHost: localhost\r\nHost: localhost\r\n\r\n"s,
           "GET /healthz HTTP/1.1\r\nHost: local\0host\r\n\r\n"s,
       }) {
    auto r = Exchange(port_, head);
    EXPECT_EQ(r.status, 400) << head;
    EXPECT_EQ(r.headers["connection"], "close");
  }
}

TEST_F(ServeTest, KeepAliveAndPipelining) {
  WriteState(dir_.path(), H200State());
  int fd = ConnectLoopback(port_);
  std::string one = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
  ASSERT_TRUE(SendAll(fd, one + one + "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  EXPECT_EQ(ReadResponse(fd).status, 200);
  EXPECT_EQ(ReadResponse(fd).status, 200);
  auto m = ReadResponse(fd);
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.body.substr(0, 6), "# HELP");
  ASSERT_TRUE(SendAll(fd, one));  // still open
  EXPECT_EQ(ReadResponse(fd).status, 200);
  close(fd);
}

TEST_F(ServeTest, RangesAreIgnored) {
  WriteState(dir_.path(), H200State());
  std::string ranges = "bytes=0-0";
  for (int i = 0; i < 300; ++i) ranges += ",0-";
  auto r = Req("GET", "/metrics", "Range: " + ranges + "\r\n");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, Get(port_, "/metrics").body);
}

TEST_F(ServeTest, ListensOnlyWhereTold) {
  // 127.0.0.2 is loopback too, but not the address we bound.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port_));
  a.sin_addr.s_addr = htonl(0x7f000002);
  EXPECT_NE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  close(fd);
}

// An address that cannot be bound at start (its port still held) does not
// stop the others; it is retried and served once it binds.
TEST(ServeOptionsTest, AnAddressThatCannotBindYetIsRetried) {
  int holder = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t len = sizeof a;
  getsockname(holder, reinterpret_cast<sockaddr*>(&a), &len);
  int busy = ntohs(a.sin_port);
  TempDir dir;
  report::ServeOptions opts;
  std::string second = "127.0.0.1:" + std::to_string(busy);
  opts.listen = {"127.0.0.1:0", second};
  opts.state_dir = dir.path();
  opts.libvirt = false;
  opts.nvml = false;
  report::StatusServer server(opts);
  server.retry_interval = std::chrono::milliseconds(100);
  auto ports = server.Start();
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  EXPECT_EQ((*ports)[1], 0);
  EXPECT_EQ(server.pending(), std::vector<std::string>{second});
  EXPECT_EQ(Get((*ports)[0], "/healthz").status, 503);  // no state yet, but answering
  close(holder);
  for (int i = 0; i < 50 && !server.pending().empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(server.pending().empty());
  EXPECT_EQ(Get(busy, "/healthz").status, 503);
}

TEST(ServeOptionsTest, BadAddressesAreRefused) {
  for (const char* bad : {"localhost:8080", "127.0.0.1", "127.0.0.1:99999", "[::1:80", "[::1]x"}) {
    report::ServeOptions opts;
    opts.listen = {bad};
    opts.state_dir = "/nonexistent";
    report::StatusServer server(opts);
    auto ports = server.Start();
    EXPECT_FALSE(ports.ok()) << bad;
  }
}

}  // namespace
}  // namespace gpuhost::testing
