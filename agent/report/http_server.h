// The status server's HTTP/1.1 front end. A fixed number of threads each run
// one epoll loop over non-blocking sockets; a loop reads a request head
// completely, under strict limits, before cpp-httplib parses and routes it
// (Routes below). A slow, idle or hostile client costs a buffer and a slot
// under max_connections, never a thread, so /healthz keeps answering.
//
// cpp-httplib's own listen loop gives each connection a thread for its whole
// life and bounds only the time between two reads: a client that sends a
// byte every few seconds holds a thread forever, and 0.11.4 reads headers
// without a count limit. Routing and writing responses stay httplib's.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace gpuhost::report {

struct HttpLimits {
  size_t max_request_line = 2048;  // longer: 414
  size_t max_head_bytes = 8192;    // request line and headers; more: 431
  size_t max_headers = 64;         // more: 431
  int head_timeout_ms = 10000;     // first byte of a request to the end of its head
  int idle_timeout_ms = 10000;     // keep-alive: end of a response to the next request
  int write_timeout_ms = 10000;    // a response must be taken within this
  int linger_ms = 1000;            // after an error response, input is drained this long
  int max_connections = 512;       // all loops together; more are answered 503 and closed
  int max_requests_per_connection = 10000;
};

// Where a request came from and arrived, for httplib's Request.
struct Peer {
  std::string remote_ip;
  int remote_port = 0;
  std::string local_ip;
  int local_port = 0;
};

// An httplib::Server used only for its routing: configure handlers, the
// pre-routing and error handlers and default headers as usual, then let
// HttpServer feed it complete request heads. Never call listen() on it.
class Routes : public httplib::Server {
 public:
  // Answers one request whose complete head (request line, headers, blank
  // line) is `head`; appends the whole response to *out. `close` adds
  // "Connection: close". Returns false when the connection must close after
  // the response (the client asked, or the head was bad).
  bool Answer(std::string_view head, const Peer& peer, int fd, bool close, std::string* out);

 private:
  template <typename S>
  static bool Process(S& self, httplib::Stream& strm, const Peer& peer, bool close, bool& closed);
};

class HttpServer {
 public:
  // REQUIRES: 1 <= threads <= 64.
  HttpServer(HttpLimits limits, int threads);
  ~HttpServer();  // stops and joins
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Routes& routes() { return routes_; }
  // Sent with every response, including the ones the front end writes
  // itself (400, 408, 414, 431, 503). Also set as routes()' default headers.
  void SetDefaultHeaders(const httplib::Headers& headers);

  // Binds host:port (an IPv4 or IPv6 literal; port 0 picks a free one).
  // Returns the port bound. Call before Start().
  Result<int> Listen(const std::string& host, int port);
  // Starts the loop threads.
  Status Start();
  // Stops accepting, closes every connection and joins the threads.
  void Stop();

  // True when every loop went round within `max_age` (each wakes at least
  // every 100 ms): the systemd watchdog only gets its ping while it holds.
  bool LoopsAlive(std::chrono::milliseconds max_age) const;
  // Connections open right now (all loops).
  int connections() const { return connections_.load(); }

 private:
  class Loop;
  friend class Loop;

  const HttpLimits limits_;
  const int threads_;
  Routes routes_;
  std::string fixed_headers_;  // "Name: value\r\n" lines for our own responses
  std::vector<int> listeners_;
  int stop_fd_ = -1;  // eventfd: readable once Stop() was called
  std::atomic<int> connections_{0};
  std::vector<std::unique_ptr<Loop>> loops_;
  std::vector<std::thread> workers_;
};

}  // namespace gpuhost::report
