#include "report/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <unordered_map>

#include "base/strings.h"
#include "report/http_head.h"

namespace gpuhost::report {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// What httplib reads a request from and writes its response to: the head we
// already have, and a string.
class HeadStream final : public httplib::Stream {
 public:
  HeadStream(std::string_view head, const Peer& peer, int fd, std::string* out)
      : head_(head), peer_(peer), fd_(fd), out_(out) {}
  using httplib::Stream::write;

  bool is_readable() const override { return pos_ < head_.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, head_.size() - pos_);
    std::memcpy(ptr, head_.data() + pos_, n);
    pos_ += n;
    return static_cast<ssize_t>(n);
  }
  ssize_t write(const char* ptr, size_t size) override {
    out_->append(ptr, size);
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.remote_ip;
    port = peer_.remote_port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = peer_.local_ip;
    port = peer_.local_port;
  }
  socket_t socket() const override { return fd_; }

 private:
  std::string_view head_;
  size_t pos_ = 0;
  const Peer& peer_;
  int fd_;
  std::string* out_;
};

Peer PeerOf(int fd) {
  Peer p;
  auto fill = [](const sockaddr_storage& ss, std::string& ip, int& port) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
      inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
      port = ntohs(a->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
      inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
      port = ntohs(a->sin6_port);
    }
    ip = buf;
  };
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    fill(ss, p.remote_ip, p.remote_port);
  }
  len = sizeof ss;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) {
    fill(ss, p.local_ip, p.local_port);
  }
  return p;
}

}  // namespace

template <typename S>
bool Routes::Process(S& self, httplib::Stream& strm, const Peer& peer, bool close, bool& closed) {
  // cpp-httplib 0.12 added the addresses to process_request's parameters.
  if constexpr (requires { self.process_request(strm, close, closed, nullptr); }) {
    return self.process_request(strm, close, closed, nullptr);
  } else {
    return self.process_request(strm, peer.remote_ip, peer.remote_port, peer.local_ip,
                                peer.local_port, close, closed, nullptr);
  }
}

bool Routes::Answer(std::string_view head, const Peer& peer, int fd, bool close, std::string* out) {
  HeadStream strm(head, peer, fd, out);
  bool closed = false;
  size_t start = out->size();
  bool ok = Process(*this, strm, peer, close, closed);
  int status = StatusOf(std::string_view(*out).substr(start));
  // httplib answers a head it cannot parse with 400 and would read on.
  return ok && !closed && status != 400 && status != 0;
}

// One epoll loop and the connections it accepted.
class HttpServer::Loop {
 public:
  explicit Loop(HttpServer& server) : s_(server) {}
  ~Loop() {
    for (auto& [fd, c] : conns_) ::close(fd);
    if (ep_ >= 0) ::close(ep_);
  }

  Status Init() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return Status::FromErrno("epoll_create1", errno);
    for (int fd : s_.listeners_) {
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLEXCLUSIVE;
      ev.data.fd = fd;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::FromErrno("epoll_ctl", errno);
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = s_.stop_fd_;
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, s_.stop_fd_, &ev) != 0) {
      return Status::FromErrno("epoll_ctl", errno);
    }
    return Status::Ok();
  }

  void Run() {
    epoll_event events[64];
    int64_t next_sweep = 0;
    for (;;) {
      int n = epoll_wait(ep_, events, 64, 100);
      int64_t now = NowMs();
      heartbeat_ms_.store(now);
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == s_.stop_fd_) return;
        if (IsListener(fd)) {
          Accept(fd, now);
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end() || it->second.fd < 0) continue;
        Conn& c = it->second;
        if (events[i].events & EPOLLOUT) {
          Flush(c, now);
          if (c.fd >= 0 && c.phase == Phase::kHead) Serve(c, now);  // pipelined
        } else {
          Read(c, now);
        }
      }
      if (now >= next_sweep) {
        Sweep(now);
        next_sweep = now + 100;
      }
      for (int fd : dead_) {
        auto it = conns_.find(fd);
        if (it != conns_.end() && it->second.fd < 0) conns_.erase(it);
      }
      dead_.clear();
    }
  }

  int64_t heartbeat_ms() const { return heartbeat_ms_.load(); }

 private:
  enum class Phase { kIdle, kHead, kWrite, kLinger };
  struct Conn {
    int fd = -1;
    Peer peer;
    Phase phase = Phase::kIdle;
    int64_t deadline_ms = 0;
    std::string in;
    size_t scanned = 0;  // bytes of `in` searched for the end of the head
    std::string out;
    size_t sent = 0;
    bool close_after = false;  // close once `out` is sent
    bool peer_done = false;    // the client shut down its side
    bool want_out = false;     // registered for EPOLLOUT instead of EPOLLIN
    int requests = 0;
  };

  bool IsListener(int fd) const {
    for (int l : s_.listeners_) {
      if (l == fd) return true;
    }
    return false;
  }

  void Accept(int lfd, int64_t now) {
    for (int i = 0; i < 64; ++i) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE, ECONNABORTED)
      if (s_.connections_.fetch_add(1) >= s_.limits_.max_connections) {
        std::string busy = Fixed(503, "too many connections\n");
        (void)!::send(fd, busy.data(), busy.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        ::close(fd);
        s_.connections_.fetch_sub(1);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      Conn& c = conns_[fd];
      c = Conn{};  // the number may be a connection closed earlier in this round
      c.fd = fd;
      c.peer = PeerOf(fd);
      c.deadline_ms = now + s_.limits_.idle_timeout_ms;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) Close(c);
    }
  }

  // A response the front end writes itself; always closes the connection.
  std::string Fixed(int status, std::string_view body) const {
    return "HTTP/1.1 " + std::to_string(status) + " " + ReasonPhrase(status) +
           "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n" + s_.fixed_headers_ + "\r\n" + std::string(body);
  }

  void Read(Conn& c, int64_t now) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        if (c.phase == Phase::kLinger) continue;  // drained, never looked at
        if (c.phase == Phase::kIdle) {
          c.phase = Phase::kHead;
          c.deadline_ms = now + s_.limits_.head_timeout_ms;
        }
        c.in.append(buf, static_cast<size_t>(n));
        // A short read emptied the socket: skip the recv that would say EAGAIN
        // (epoll is level-triggered and reports what arrives later).
        if (static_cast<size_t>(n) < sizeof buf) break;
        if (c.in.size() > s_.limits_.max_head_bytes + sizeof buf) break;  // enough to judge
        continue;
      }
      if (n == 0) {
        c.peer_done = true;
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      Close(c);
      return;
    }
    if (c.phase == Phase::kLinger) {
      if (c.peer_done) Close(c);
      return;
    }
    Serve(c, now);
  }

  // Answers the complete request heads in `in`, one at a time, while the
  // responses go out without blocking.
  void Serve(Conn& c, int64_t now) {
    const HttpLimits& lim = s_.limits_;
    while (c.phase != Phase::kWrite && !c.close_after) {
      size_t line_end = c.in.find('\n');
      if ((line_end == std::string::npos ? c.in.size() : line_end) > lim.max_request_line) {
        return Reject(c, 414, "request line too long\n", now);
      }
      size_t from = c.scanned > 3 ? c.scanned - 3 : 0;
      size_t end = c.in.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        if (c.in.size() > lim.max_head_bytes)
          return Reject(c, 431, "request head too large\n", now);
        c.scanned = c.in.size();
        if (c.peer_done) Close(c);  // a partial request that will never complete
        return;
      }
      size_t head_len = end + 4;
      if (head_len > lim.max_head_bytes) return Reject(c, 431, "request head too large\n", now);
      HeadCheck check = CheckHead(std::string_view(c.in).substr(0, head_len), lim);
      if (check.status != 0) {
        return Reject(c, check.status, check.status == 431 ? "too many headers\n" : "bad request\n",
                      now);
      }
      c.in.erase(0, head_len);
      c.scanned = 0;
      ++c.requests;
      bool close = check.has_body || c.peer_done || c.requests >= lim.max_requests_per_connection;
      bool keep = s_.routes_.Answer(check.head, c.peer, c.fd, close, &c.out);
      c.close_after = close || !keep;
      c.phase = Phase::kWrite;
      c.deadline_ms = now + lim.write_timeout_ms;
      Flush(c, now);
      if (c.fd < 0) return;
    }
  }

  void Reject(Conn& c, int status, std::string_view body, int64_t now) {
    c.in.clear();
    c.out += Fixed(status, body);
    c.close_after = true;
    c.phase = Phase::kWrite;
    c.deadline_ms = now + s_.limits_.write_timeout_ms;
    Flush(c, now);
  }

  void Flush(Conn& c, int64_t now) {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        Want(c, true);
        return;
      }
      Close(c);
      return;
    }
    c.out.clear();
    c.sent = 0;
    Want(c, false);
    if (c.close_after) {
      // Lingering close: stop sending, drain what the client still sends for
      // a moment, so closing with unread input does not reset the
      // connection and destroy the response before the client read it.
      ::shutdown(c.fd, SHUT_WR);
      if (c.peer_done) return Close(c);
      c.phase = Phase::kLinger;
      c.deadline_ms = now + s_.limits_.linger_ms;
      return;
    }
    c.phase = c.in.empty() ? Phase::kIdle : Phase::kHead;
    c.deadline_ms = now + (c.in.empty() ? s_.limits_.idle_timeout_ms : s_.limits_.head_timeout_ms);
  }

  void Want(Conn& c, bool out) {
    if (c.want_out == out) return;
    epoll_event ev{};
    ev.events = out ? EPOLLOUT : EPOLLIN | EPOLLRDHUP;
    ev.data.fd = c.fd;
    if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) == 0) c.want_out = out;
  }

  void Sweep(int64_t now) {
    std::vector<int> expired;
    for (auto& [fd, c] : conns_) {
      if (now >= c.deadline_ms) expired.push_back(fd);
    }
    for (int fd : expired) {
      Conn& c = conns_[fd];
      if (c.fd < 0) continue;
      if (c.phase == Phase::kHead) {
        std::string timeout = Fixed(408, "request timeout\n");
        (void)!::send(fd, timeout.data(), timeout.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      Close(c);
    }
  }

  void Close(Conn& c) {
    int fd = c.fd;
    if (fd < 0) return;
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    c.fd = -1;
    c.in.clear();
    c.out.clear();
    s_.connections_.fetch_sub(1);
    dead_.push_back(fd);  // erased after this round: callers may still hold `c`
  }

  HttpServer& s_;
  int ep_ = -1;
  std::unordered_map<int, Conn> conns_;
  std::vector<int> dead_;
  std::atomic<int64_t> heartbeat_ms_{NowMs()};
};

HttpServer::HttpServer(HttpLimits limits, int threads) : limits_(limits), threads_(threads) {}

HttpServer::~HttpServer() {
  Stop();
  for (int fd : listeners_) ::close(fd);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void HttpServer::SetDefaultHeaders(const httplib::Headers& headers) {
  routes_.set_default_headers(headers);
  fixed_headers_.clear();
  for (const auto& [k, v] : headers) fixed_headers_ += k + ": " + v + "\r\n";
}

Result<int> HttpServer::Listen(const std::string& host, int port) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  auto* v4 = reinterpret_cast<sockaddr_in*>(&ss);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&ss);
  if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
    len = sizeof *v6;
  } else {
    return Status::Invalid("'" + host + "' is not an IP address");
  }
  std::string where = host + ":" + std::to_string(port);
  int fd = ::socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("socket for " + where, errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    Status s = Status::FromErrno("listen on " + where, errno);
    ::close(fd);
    return s;
  }
  len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  listeners_.push_back(fd);
  return static_cast<int>(ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port));
}

Status HttpServer::Start() {
  if (listeners_.empty()) return Status::Invalid("nothing to listen on");
  if (threads_ < 1 || threads_ > 64) return Status::Invalid("threads must be 1..64");
  stop_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (stop_fd_ < 0) return Status::FromErrno("eventfd", errno);
  for (int i = 0; i < threads_; ++i) {
    auto loop = std::make_unique<Loop>(*this);
    Status s = loop->Init();
    if (!s.ok()) return s;
    loops_.push_back(std::move(loop));
  }
  for (auto& loop : loops_) workers_.emplace_back([l = loop.get()] { l->Run(); });
  return Status::Ok();
}

void HttpServer::Stop() {
  if (stop_fd_ >= 0 && !workers_.empty()) {
    uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
  }
  for (auto& t : workers_) t.join();
  workers_.clear();
  loops_.clear();  // closes the loops' connections
}

bool HttpServer::LoopsAlive(std::chrono::milliseconds max_age) const {
  int64_t now = NowMs();
  for (const auto& loop : loops_) {
    if (now - loop->heartbeat_ms() > max_age.count()) return false;
  }
  return !loops_.empty();
}

}  // namespace gpuhost::report
