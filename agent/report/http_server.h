// The status server's HTTP/1.1 front end, with optional TLS. A fixed number
// of threads each run one epoll loop over non-blocking sockets; a loop does
// the TLS handshake, reads a request head completely under strict limits,
// checks it (report/http_head.h), parses it (report/http_message.h), calls the
// handler and writes the reply without blocking. A slow, idle or hostile
// client costs a buffer and a slot, never a thread, so /healthz keeps
// answering.
//
// Balance: every loop waits on every listener (EPOLLEXCLUSIVE: one wakes per
// burst); the loop that accepts hands each connection to the loop holding
// the fewest, through that loop's queue and eventfd. Without it a burst
// (wrk's 64 connections) stayed on the one loop that woke. Not SO_REUSEPORT
// with a listener per loop: its hash spreads a burst only roughly, a busy
// loop's queue waits for that loop while another idles, and a second
// process of the same user could bind the port and take a share.
//
// Why not cpp-httplib's server (or its SSLServer): it gives each connection
// a thread for its whole life and bounds only the time between two reads, so
// a client that sends a byte every few seconds, or one address holding a few
// hundred idle connections, takes every thread; 0.11.4 reads headers without
// a count limit. The answers here are a few GET paths with small bodies, so
// the front end owns the small response writer instead (docs/status-api.md,
// "Front end").
//
// Slots: every address gets up to max_per_address ordinary connections of
// the max_connections in all. A connection beyond either limit takes one of
// reserved_connections slots if one is free: it may ask one request, only
// for a reserved path (/healthz), within reserved_timeout_ms. Beyond that it
// is answered 503 and closed (plain HTTP) or closed (TLS). Everything is
// answered, never reset: closes are lingering, after the answer is sent.
//
// TLS handshakes: each loop runs at most max_handshakes at once, one
// address at most half of them (report/handshake_gate.h); beyond that a
// connection's ClientHello waits unread until a handshake ends. A handshake
// holds ~35 KB in OpenSSL until the client's Finished, and a burst of them
// was serve's peak RSS. Reserved connections do not wait.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/status.h"
#include "report/http_message.h"
#include "report/tls.h"

namespace gpuhost::report {

struct HttpLimits {
  size_t max_request_line = 2048;  // longer: 414
  size_t max_head_bytes = 8192;    // request line and headers; more: 431
  size_t max_headers = 64;         // more: 431
  int head_timeout_ms = 10000;     // TLS handshake, or first byte of a request to its head's end
  int idle_timeout_ms = 10000;     // keep-alive: end of a response to the next request
  int write_timeout_ms = 10000;    // a response must be taken within this
  int linger_ms = 1000;            // after an error response, input is drained this long
  int max_connections = 512;       // ordinary connections, all loops and addresses together
  int max_per_address = 64;        // ordinary connections from one client address
  int reserved_connections = 16;   // beyond those: one request for a reserved path each
  int reserved_timeout_ms = 2000;  // a reserved connection's whole life
  int max_handshakes = 8;          // TLS handshakes in progress per loop; more wait their turn
  int max_requests_per_connection = 10000;
  int send_buffer_bytes = 65536;  // SO_SNDBUF of each connection; 0: the kernel's default
};

using HttpHandler = std::function<HttpReply(const HttpRequest&)>;

class HttpServer {
 public:
  // REQUIRES: 1 <= threads <= 64.
  HttpServer(HttpLimits limits, int threads);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Call before Start(). The handler runs on the loop threads, concurrently:
  // it must be thread-safe and quick (it renders nothing, see snapshot.h).
  void SetHandler(HttpHandler handler) { handler_ = std::move(handler); }
  // Sent with every response, including the ones the front end writes
  // itself (400, 408, 414, 431, 503).
  void SetDefaultHeaders(const std::vector<std::pair<std::string, std::string>>& headers);
  // Paths a reserved connection may ask for.
  void SetReservedPaths(std::set<std::string> paths) { reserved_paths_ = std::move(paths); }
  // Every listener speaks TLS with this context. Call before Listen().
  void SetTls(std::shared_ptr<TlsContext> tls) { tls_ = std::move(tls); }

  // Binds host:port (an IPv4 or IPv6 literal; port 0 picks a free one), with
  // IP_FREEBIND so an address not configured yet binds too. Returns the port
  // bound. Before or after Start(): a listener added later joins the loops.
  Result<int> Listen(const std::string& host, int port);
  int threads() const { return threads_; }

  // Starts the loop threads.
  Status Start();
  // Stops accepting, closes every connection and joins the threads.
  void Stop();

  // True when every loop went round within `max_age` (each wakes at least
  // every 100 ms): the systemd watchdog only gets its ping while it holds.
  bool LoopsAlive(std::chrono::milliseconds max_age) const;
  // Connections open right now (all loops, reserved ones included).
  int connections() const { return connections_.load(); }
  // The same per loop, in loop order (refusals left out). Empty before
  // Start(); call from any thread.
  std::vector<int> connections_per_loop() const;
  // TLS handshakes in progress (ordinary connections), per loop in loop
  // order; the most one loop ever ran at once; connections waiting for one.
  std::vector<int> handshakes_per_loop() const;
  int handshakes_peak() const;
  int handshakes_waiting() const;

 private:
  class Loop;
  friend class Loop;

  // Takes a slot for a new connection from `ip`: 1 ordinary, 2 reserved, 0 none.
  int TakeSlot(const std::string& ip);
  void GiveSlot(const std::string& ip, int kind);
  // The loop that holds the fewest connections; `self` on a tie.
  Loop& LeastLoaded(Loop& self);

  const HttpLimits limits_;
  const int threads_;
  HttpHandler handler_;
  std::set<std::string> reserved_paths_ = {"/healthz"};
  std::shared_ptr<TlsContext> tls_;
  std::string fixed_headers_;  // "Name: value\r\n" lines sent with every response
  std::mutex listeners_mu_;
  std::vector<int> listeners_;
  int stop_fd_ = -1;  // eventfd: readable once Stop() was called
  std::atomic<int> connections_{0};
  std::mutex slots_mu_;
  int ordinary_ = 0;
  int reserved_ = 0;
  std::unordered_map<std::string, int> per_address_;  // ordinary connections per address
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> workers_;
};

}  // namespace gpuhost::report
