#include "report/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <deque>
#include <mutex>

#include "base/strings.h"
#include "report/handshake_gate.h"
#include "report/http_head.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78  // Linux 4.15; older headers lack the name
#endif

namespace gpuhost::report {
namespace {

using Clock = std::chrono::steady_clock;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch())
      .count();
}

// epoll data: listeners are told apart from connections by this bit.
constexpr uint64_t kListenerTag = 1ull << 32;

std::string RemoteIp(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
  } else if (ss.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
  }
  return buf;
}

enum class Io { kOk, kWantRead, kWantWrite, kClosed, kError };

}  // namespace

// One epoll loop and the connections it accepted.
class HttpServer::Loop {
 public:
  explicit Loop(HttpServer& server) : s_(server), gate_(server.limits_.max_handshakes) {}
  ~Loop() {
    for (auto& [fd, c] : conns_) Close(c);
    // Handed to this loop after it stopped: never adopted, closed here.
    for (Handed& h : inbox_) {
      ::close(h.fd);
      s_.GiveSlot(h.ip, h.slot);
      s_.connections_.fetch_sub(1);
    }
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (ep_ >= 0) ::close(ep_);
  }

  Status Init() {
    ep_ = epoll_create1(EPOLL_CLOEXEC);
    if (ep_ < 0) return Status::FromErrno("epoll_create1", errno);
    wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd_ < 0) return Status::FromErrno("eventfd", errno);
    for (int fd : s_.listeners_) {  // the caller holds listeners_mu_
      if (Status s = AddListener(fd); !s.ok()) return s;
    }
    for (int fd : {s_.stop_fd_, wake_fd_}) {
      epoll_event ev{};
      ev.events = EPOLLIN;
      ev.data.u64 = kListenerTag | static_cast<uint32_t>(fd);
      if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::FromErrno("epoll_ctl", errno);
    }
    return Status::Ok();
  }

  // Safe from another thread: epoll_ctl is, and the loop only reads the tag.
  Status AddListener(int fd) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u64 = kListenerTag | static_cast<uint32_t>(fd);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return Status::FromErrno("epoll_ctl", errno);
    return Status::Ok();
  }

  void Run() {
    // OpenSSL writes with write(), not send(MSG_NOSIGNAL): a client gone
    // mid-response would raise SIGPIPE and kill the process (an embedding
    // one too, not only serve, which ignores it). Blocked in this thread,
    // the write fails with EPIPE instead.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    epoll_event events[64];
    int64_t next_sweep = 0;
    for (;;) {
      int n = epoll_wait(ep_, events, 64, 100);
      int64_t now = NowMs();
      heartbeat_ms_.store(now);
      for (int i = 0; i < n; ++i) {
        int fd = static_cast<int>(events[i].data.u64 & 0xffffffffu);
        if (events[i].data.u64 & kListenerTag) {
          if (fd == s_.stop_fd_) return;
          if (fd == wake_fd_) {
            TakeHanded(now);
          } else {
            Accept(fd, now);
          }
          continue;
        }
        auto it = conns_.find(fd);
        if (it == conns_.end() || it->second.fd < 0) continue;
        Conn& c = it->second;
        if (c.phase == Phase::kHandshake) {
          Handshake(c, now);
        } else if ((events[i].events & EPOLLOUT) && c.sent < c.out.size()) {
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
      StartWaiting(now);
      for (int fd : dead_) {
        auto it = conns_.find(fd);
        if (it != conns_.end() && it->second.fd < 0) conns_.erase(it);
      }
      dead_.clear();
    }
  }

  int64_t heartbeat_ms() const { return heartbeat_ms_.load(); }
  // Ordinary and reserved connections this loop holds or was handed.
  int held() const { return held_.load(std::memory_order_relaxed); }
  const HandshakeGate& gate() const { return gate_; }

  // From the thread of the loop that accepted `fd`: queues it for this loop
  // and wakes it. The caller counted it in held_ already.
  void Hand(int fd, std::string ip, int slot) {
    bool was_empty = false;
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      was_empty = inbox_.empty();
      inbox_.push_back({fd, std::move(ip), slot});
    }
    // One wake per batch: TakeHanded() reads the eventfd before it takes
    // the queue, so a connection queued after that read writes it again.
    if (was_empty) {
      uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    }
  }

 private:
  enum class Phase { kHandshake, kIdle, kHead, kWrite, kLinger };
  struct Conn {
    int fd = -1;
    SSL* ssl = nullptr;
    std::string ip;
    int slot = 0;  // 1 ordinary, 2 reserved, 0 refused (answered 503 and closed)
    Phase phase = Phase::kIdle;
    int64_t deadline_ms = 0;
    std::string in;
    size_t scanned = 0;  // bytes of `in` searched for the end of the head
    std::string out;
    size_t sent = 0;
    bool close_after = false;                // close once `out` is sent
    bool peer_done = false;                  // the client shut down its side
    uint32_t events = EPOLLIN | EPOLLRDHUP;  // what epoll watches for
    bool handshaking = false;                // holds one of gate_'s slots
    bool waiting = false;                    // its ClientHello arrived, queued in gate_ for a slot
    int requests = 0;
    uint64_t serial = 0;  // a refusal's place in refused_order_
  };

  bool Reserved(const Conn& c) const { return c.slot == 2; }
  int IdleTimeout(const Conn& c) const {
    return Reserved(c) ? s_.limits_.reserved_timeout_ms : s_.limits_.idle_timeout_ms;
  }
  int HeadTimeout(const Conn& c) const {
    return Reserved(c) ? s_.limits_.reserved_timeout_ms : s_.limits_.head_timeout_ms;
  }

  // Accepts what the listener holds, up to 64 at a time. Each connection
  // with a slot goes to the loop holding the fewest (this one on a tie):
  // the listener wakes one loop per burst (EPOLLEXCLUSIVE), and wrk's 64
  // connections, arriving together, all landed on that loop before
  // (docs/status-api.md, "Benchmark"). Refusals stay here: they live for
  // one answer.
  void Accept(int lfd, int64_t now) {
    for (int i = 0; i < 64; ++i) {
      int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or a transient error (EMFILE, ECONNABORTED)
      std::string ip = RemoteIp(fd);
      int slot = s_.TakeSlot(ip);
      // No slot: a plain client is still told 503 (a TLS one cannot be
      // without a handshake), on a bounded number of short-lived refusals.
      if (slot == 0 && s_.tls_) {
        ::close(fd);
        continue;
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      // A client that never reads holds at most this much kernel memory.
      if (s_.limits_.send_buffer_bytes > 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s_.limits_.send_buffer_bytes,
                   sizeof s_.limits_.send_buffer_bytes);
      }
      if (slot == 0) {
        Adopt(fd, std::move(ip), slot, now);
        continue;
      }
      s_.connections_.fetch_add(1);
      Loop& to = s_.LeastLoaded(*this);
      to.held_.fetch_add(1, std::memory_order_relaxed);
      if (&to == this) {
        Adopt(fd, std::move(ip), slot, now);
      } else {
        to.Hand(fd, std::move(ip), slot);
      }
    }
  }

  // The connections other loops accepted for this one.
  void TakeHanded(int64_t now) {
    uint64_t count = 0;
    (void)!::read(wake_fd_, &count, sizeof count);
    std::vector<Handed> handed;
    {
      std::lock_guard<std::mutex> lock(inbox_mu_);
      handed.swap(inbox_);
    }
    for (Handed& h : handed) Adopt(h.fd, std::move(h.ip), h.slot, now);
  }

  // Makes an accepted connection this loop's: a refusal is answered 503 at
  // once, a TLS connection starts its handshake, a plain one waits for its
  // first request.
  void Adopt(int fd, std::string ip, int slot, int64_t now) {
    // At the bound, the oldest refusal (its 503 long written) makes room:
    // a new client, such as a load balancer's /healthz from the address
    // that holds hundreds of idle connections, is always answered.
    if (slot == 0 && refused_ >= kMaxRefused) EvictOldestRefusal();
    if (slot == 0) {
      ++refused_;
      refused_order_.push_back({fd, ++serial_});
      if (refused_order_.size() > 2 * kMaxRefused) DropClosedRefusals();
    }
    Conn& c = conns_[fd];
    c = Conn{};  // the number may be a connection closed earlier in this round
    c.fd = fd;
    c.serial = slot == 0 ? serial_ : 0;
    c.ip = std::move(ip);
    c.slot = slot;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = static_cast<uint32_t>(fd);
    if (epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev) != 0) return Close(c);
    if (slot == 0) {
      // Answered at once, then a lingering close: the request the client
      // sends meanwhile is drained, so the close is a FIN and not a reset
      // that would destroy the 503 before the client read it.
      c.out = Fixed(503, "too many connections\n");
      c.close_after = true;
      c.phase = Phase::kWrite;
      c.deadline_ms = now + s_.limits_.write_timeout_ms;
      return Flush(c, now);
    }
    if (s_.tls_) {
      // No SSL object yet: that waits for the ClientHello (Handshake()), so
      // a connection that sends nothing holds no OpenSSL memory and no slot.
      c.phase = Phase::kHandshake;
      c.deadline_ms = now + HeadTimeout(c);
    } else {
      c.deadline_ms = now + IdleTimeout(c);
    }
  }

  // A response the front end writes itself; always closes the connection.
  std::string Fixed(int status, std::string body) const {
    return SerializeReply(HttpReply::Text(status, std::move(body)), false, true, s_.fixed_headers_);
  }

  // A TLS connection's events until its handshake is done. The first (its
  // ClientHello, or its close) starts the handshake if gate_ has a slot, else
  // the connection waits unread, watched only for the client hanging up;
  // its deadline keeps running. Reserved connections do not wait: there
  // are few (reserved_connections, 2 s each), and they are how /healthz
  // answers while ordinary connections crowd the slots.
  void Handshake(Conn& c, int64_t now) {
    if (!c.ssl) {
      if (c.waiting) return Close(c);  // the client hung up while it waited
      if (!Reserved(c)) {
        if (!gate_.TryTake(c.ip)) return Queue(c);
        c.handshaking = true;
      }
      if (!Begin(c)) return Close(c);
    }
    ERR_clear_error();
    int r = SSL_do_handshake(c.ssl);
    if (r == 1) {
      EndHandshake(c);
      c.phase = Phase::kIdle;
      c.deadline_ms = now + IdleTimeout(c);
      Want(c, false);
      Read(c, now);  // the request may have come with the handshake's last flight
      return;
    }
    switch (SSL_get_error(c.ssl, r)) {
      case SSL_ERROR_WANT_READ:
        return Want(c, false);
      case SSL_ERROR_WANT_WRITE:
        return Want(c, true);
      default:  // not TLS, a protocol or version we refuse, no client certificate
        ERR_clear_error();
        return Close(c);  // gives its slot back
    }
  }

  bool Begin(Conn& c) {
    c.ssl = SSL_new(s_.tls_->ctx());
    if (!c.ssl || SSL_set_fd(c.ssl, c.fd) != 1) return false;
    SSL_set_accept_state(c.ssl);
    return true;
  }

  // Level-triggered epoll would wake for its unread ClientHello every round:
  // it watches only for the client's close (RDHUP; HUP and ERR always).
  void Queue(Conn& c) {
    if (!Watch(c, EPOLLRDHUP)) return Close(c);
    c.waiting = true;
    gate_.Wait(c.fd, c.ip);
  }

  // Gives the handshake's slot back (once): done, failed, timed out or
  // closed, every path ends here or in Close(). A slot kept would stop the
  // loop's TLS clients for good.
  void EndHandshake(Conn& c) {
    if (!c.handshaking) return;
    c.handshaking = false;
    gate_.Give(c.ip);
  }

  // After each round: waiting connections take the slots given back. Their
  // ClientHello is already in the socket, so the handshake goes on at once.
  void StartWaiting(int64_t now) {
    while (std::optional<HandshakeGate::Waiter> next = gate_.Next()) {
      auto it = conns_.find(next->fd);
      if (it == conns_.end() || it->second.fd < 0 || !it->second.waiting) {
        gate_.Give(next->ip);  // not reached: Close() takes a connection out of the queue
        continue;
      }
      Conn& c = it->second;
      c.waiting = false;
      c.handshaking = true;
      if (!Watch(c, EPOLLIN | EPOLLRDHUP) || !Begin(c)) {
        Close(c);
        continue;
      }
      Handshake(c, now);
    }
  }

  Io Recv(Conn& c, char* buf, size_t size, size_t* got) {
    *got = 0;
    if (!c.ssl) {
      ssize_t n = ::recv(c.fd, buf, size, 0);
      if (n > 0) {
        *got = static_cast<size_t>(n);
        return Io::kOk;
      }
      if (n == 0) return Io::kClosed;
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) return Io::kWantRead;
      return Io::kError;
    }
    ERR_clear_error();
    int n = SSL_read(c.ssl, buf, static_cast<int>(std::min<size_t>(size, INT_MAX)));
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return Io::kOk;
    }
    switch (SSL_get_error(c.ssl, n)) {
      case SSL_ERROR_WANT_READ:
        return Io::kWantRead;
      case SSL_ERROR_WANT_WRITE:
        return Io::kWantWrite;
      case SSL_ERROR_ZERO_RETURN:
        return Io::kClosed;
      default:
        ERR_clear_error();
        return Io::kError;
    }
  }

  Io Send(Conn& c, const char* data, size_t size, size_t* sent) {
    *sent = 0;
    if (!c.ssl) {
      ssize_t n = ::send(c.fd, data, size, MSG_NOSIGNAL);
      if (n > 0) {
        *sent = static_cast<size_t>(n);
        return Io::kOk;
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) {
        return Io::kWantWrite;
      }
      return Io::kError;
    }
    ERR_clear_error();
    int n = SSL_write(c.ssl, data, static_cast<int>(std::min<size_t>(size, INT_MAX)));
    if (n > 0) {
      *sent = static_cast<size_t>(n);
      return Io::kOk;
    }
    if (SSL_get_error(c.ssl, n) == SSL_ERROR_WANT_WRITE) return Io::kWantWrite;
    ERR_clear_error();
    return Io::kError;  // renegotiation is off: a write never waits for a read
  }

  void Read(Conn& c, int64_t now) {
    if (c.phase == Phase::kLinger) return Drain(c);
    char buf[16384];
    for (;;) {
      size_t n = 0;
      Io io = Recv(c, buf, sizeof buf, &n);
      if (io == Io::kOk) {
        if (c.phase == Phase::kIdle) {
          c.phase = Phase::kHead;
          c.deadline_ms = now + HeadTimeout(c);
        }
        c.in.append(buf, n);
        // A short read emptied the socket: skip the read that would say
        // EAGAIN (epoll is level-triggered, and reports what is left in the
        // kernel). TLS reads on only while OpenSSL holds bytes epoll cannot
        // see (a decrypted rest, or records read ahead: report/tls.cc), so
        // a request in one record costs one SSL_read, and one read().
        if (n < sizeof buf && (!c.ssl || !SSL_has_pending(c.ssl))) break;
        if (c.in.size() > s_.limits_.max_head_bytes + sizeof buf) break;  // enough to judge
        continue;
      }
      if (io == Io::kClosed) {
        c.peer_done = true;
        break;
      }
      if (io == Io::kWantRead) break;
      if (io == Io::kWantWrite) {
        Want(c, true);
        break;
      }
      return Close(c);
    }
    Serve(c, now);
  }

  // After the last response of a closing connection: what the client still
  // sends is read and dropped until it closes or linger_ms pass.
  void Drain(Conn& c) {
    char buf[4096];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) Close(c);
      return;
    }
  }

  // Answers the complete request heads in `in`, one at a time, while the
  // responses go out without blocking.
  void Serve(Conn& c, int64_t now) {
    const HttpLimits& lim = s_.limits_;
    while (c.fd >= 0 && c.phase != Phase::kWrite && c.phase != Phase::kLinger && !c.close_after) {
      size_t line_end = c.in.find('\n');
      if ((line_end == std::string::npos ? c.in.size() : line_end) > lim.max_request_line) {
        return Reject(c, 414, "request line too long\n", now);
      }
      size_t from = c.scanned > 3 ? c.scanned - 3 : 0;
      size_t end = c.in.find("\r\n\r\n", from);
      if (end == std::string::npos) {
        if (c.in.size() > lim.max_head_bytes) {
          return Reject(c, 431, "request head too large\n", now);
        }
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
      auto req = ParseRequest(check.head);
      if (!req) return Reject(c, 400, "bad request\n", now);
      c.in.erase(0, head_len);
      c.scanned = 0;
      ++c.requests;
      req->tls = c.ssl != nullptr;
      req->remote_ip = c.ip;
      bool close = check.has_body || c.peer_done || Reserved(c) || req->WantsClose() ||
                   c.requests >= lim.max_requests_per_connection;
      std::string reply =
          SerializeReply(Answer(c, *req), req->method == "HEAD", close, s_.fixed_headers_);
      // Moved in, not copied (`out` is empty here unless a front-end error
      // response is queued): see Flush() for why it is not kept.
      if (c.out.empty()) {
        c.out = std::move(reply);
      } else {
        c.out += reply;
      }
      c.close_after = close;
      c.phase = Phase::kWrite;
      c.deadline_ms = now + lim.write_timeout_ms;
      Flush(c, now);
    }
  }

  HttpReply Answer(const Conn& c, const HttpRequest& req) {
    if (Reserved(c) && !s_.reserved_paths_.count(req.path)) {
      return HttpReply::Text(503, "too many connections: only /healthz is answered now\n");
    }
    if (!s_.handler_) return HttpReply::Text(404, "not found\n");
    try {
      return s_.handler_(req);
    } catch (...) {
      return HttpReply::Text(500, "internal error\n");
    }
  }

  void Reject(Conn& c, int status, std::string_view body, int64_t now) {
    c.in.clear();
    c.out += Fixed(status, std::string(body));
    c.close_after = true;
    c.phase = Phase::kWrite;
    c.deadline_ms = now + s_.limits_.write_timeout_ms;
    Flush(c, now);
  }

  void Flush(Conn& c, int64_t now) {
    while (c.sent < c.out.size()) {
      size_t n = 0;
      Io io = Send(c, c.out.data() + c.sent, c.out.size() - c.sent, &n);
      if (io == Io::kOk) {
        c.sent += n;
        continue;
      }
      if (io == Io::kWantWrite) return Want(c, true);
      return Close(c);
    }
    // Sent: the buffer is freed, not kept for the next response. An idle
    // keep-alive connection would otherwise hold its last response's size
    // (20 KB for /api/v1/status) for its whole life: 64 connections held
    // 1.3 MB of peak RSS (docs/status-api.md, "Benchmark"). The request
    // buffer likewise once it is empty (a large head is not kept either).
    std::string().swap(c.out);
    c.sent = 0;
    if (c.in.empty()) std::string().swap(c.in);
    Want(c, false);
    if (c.close_after) {
      // Lingering close: stop sending, drain what the client still sends for
      // a moment, so closing with unread input does not reset the
      // connection and destroy the response before the client read it.
      if (c.ssl) {
        ERR_clear_error();
        SSL_shutdown(c.ssl);  // one close_notify, not waiting for the client's
        ERR_clear_error();
      }
      ::shutdown(c.fd, SHUT_WR);
      if (c.peer_done) return Close(c);
      c.phase = Phase::kLinger;
      c.deadline_ms = now + s_.limits_.linger_ms;
      return;
    }
    c.phase = c.in.empty() ? Phase::kIdle : Phase::kHead;
    c.deadline_ms = now + (c.in.empty() ? IdleTimeout(c) : HeadTimeout(c));
  }

  void Want(Conn& c, bool out) { Watch(c, out ? EPOLLOUT : EPOLLIN | EPOLLRDHUP); }

  bool Watch(Conn& c, uint32_t events) {
    if (c.events == events) return true;
    epoll_event ev{};
    ev.events = events;
    ev.data.u64 = static_cast<uint32_t>(c.fd);
    if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) != 0) return false;
    c.events = events;
    return true;
  }

  void Sweep(int64_t now) {
    std::vector<int> expired;
    for (auto& [fd, c] : conns_) {
      if (c.fd >= 0 && now >= c.deadline_ms) expired.push_back(fd);
    }
    for (int fd : expired) {
      Conn& c = conns_[fd];
      if (c.phase == Phase::kHead && !c.ssl) {
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
    EndHandshake(c);
    if (c.waiting) gate_.Remove(fd);
    c.waiting = false;
    if (c.ssl) SSL_free(c.ssl);
    c.ssl = nullptr;
    ::close(fd);
    c.fd = -1;
    c.in.clear();
    c.out.clear();
    if (c.slot == 0) {
      --refused_;
    } else {
      held_.fetch_sub(1, std::memory_order_relaxed);  // first: connections() == 0 means all
      s_.GiveSlot(c.ip, c.slot);
      s_.connections_.fetch_sub(1);
    }
    dead_.push_back(fd);  // erased after this round: callers may still hold `c`
  }

  // Closes the refusal that has lingered longest (entries of refusals
  // already closed, or whose number was reused, are skipped).
  void EvictOldestRefusal() {
    while (!refused_order_.empty()) {
      auto [fd, serial] = refused_order_.front();
      refused_order_.pop_front();
      auto it = conns_.find(fd);
      if (it != conns_.end() && it->second.fd >= 0 && it->second.slot == 0 &&
          it->second.serial == serial) {
        Close(it->second);
        return;
      }
    }
  }

  // Refusals mostly end on their own: their entries go here, so the queue
  // stays within twice the bound (amortised: once per kMaxRefused refusals).
  void DropClosedRefusals() {
    std::erase_if(refused_order_, [this](const std::pair<int, uint64_t>& e) {
      auto it = conns_.find(e.first);
      return it == conns_.end() || it->second.fd < 0 || it->second.slot != 0 ||
             it->second.serial != e.second;
    });
  }

  // Refused connections lingering on their 503 at once, per loop; beyond
  // this the oldest is closed to make room for the newest.
  static constexpr int kMaxRefused = 256;
  std::deque<std::pair<int, uint64_t>> refused_order_;  // fd, serial; oldest first
  uint64_t serial_ = 0;

  struct Handed {
    int fd;
    std::string ip;
    int slot;
  };

  HttpServer& s_;
  HandshakeGate gate_;  // TLS handshakes this loop runs at once
  int ep_ = -1;
  int wake_fd_ = -1;  // eventfd: readable when inbox_ holds connections
  std::atomic<int> held_{0};
  std::mutex inbox_mu_;
  std::vector<Handed> inbox_;
  int refused_ = 0;
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

void HttpServer::SetDefaultHeaders(
    const std::vector<std::pair<std::string, std::string>>& headers) {
  fixed_headers_.clear();
  for (const auto& [k, v] : headers) fixed_headers_ += k + ": " + v + "\r\n";
}

int HttpServer::TakeSlot(const std::string& ip) {
  std::lock_guard<std::mutex> lock(slots_mu_);
  int& mine = per_address_[ip];
  if (ordinary_ < limits_.max_connections && mine < limits_.max_per_address) {
    ++ordinary_;
    ++mine;
    return 1;
  }
  if (mine == 0) per_address_.erase(ip);
  if (reserved_ < limits_.reserved_connections) {
    ++reserved_;
    return 2;
  }
  return 0;
}

void HttpServer::GiveSlot(const std::string& ip, int kind) {
  std::lock_guard<std::mutex> lock(slots_mu_);
  if (kind == 2) {
    --reserved_;
    return;
  }
  --ordinary_;
  auto it = per_address_.find(ip);
  if (it != per_address_.end() && --it->second <= 0) per_address_.erase(it);
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
  // An address that is not configured yet (DHCP, a NIC still coming up)
  // binds anyway and starts answering once it is there.
  if (ss.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof one);
  } else {
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd, 1024) != 0) {
    Status s = Status::FromErrno("listen on " + where, errno);
    ::close(fd);
    return s;
  }
  len = sizeof ss;
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  {
    std::lock_guard<std::mutex> lock(listeners_mu_);
    listeners_.push_back(fd);
    for (auto& loop : loops_) {
      if (Status s = loop->AddListener(fd); !s.ok()) return s;
    }
  }
  return static_cast<int>(ntohs(ss.ss_family == AF_INET ? v4->sin_port : v6->sin6_port));
}

Status HttpServer::Start() {
  if (threads_ < 1 || threads_ > 64) return Status::Invalid("threads must be 1..64");
  // Held throughout: a Listen() from another thread joins every loop or none.
  std::lock_guard<std::mutex> lock(listeners_mu_);
  if (listeners_.empty()) return Status::Invalid("nothing to listen on");
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
  std::lock_guard<std::mutex> lock(listeners_mu_);
  loops_.clear();  // closes the loops' connections
}

HttpServer::Loop& HttpServer::LeastLoaded(Loop& self) {
  Loop* best = &self;
  int least = self.held();
  for (auto& loop : loops_) {
    if (loop->held() < least) {
      best = loop.get();
      least = loop->held();
    }
  }
  return *best;
}

std::vector<int> HttpServer::connections_per_loop() const {
  std::vector<int> held;
  for (const auto& loop : loops_) held.push_back(loop->held());
  return held;
}

std::vector<int> HttpServer::handshakes_per_loop() const {
  std::vector<int> out;
  for (const auto& loop : loops_) out.push_back(loop->gate().in_flight());
  return out;
}

int HttpServer::handshakes_peak() const {
  int peak = 0;
  for (const auto& loop : loops_) peak = std::max(peak, loop->gate().peak());
  return peak;
}

int HttpServer::handshakes_waiting() const {
  int waiting = 0;
  for (const auto& loop : loops_) waiting += loop->gate().waiting();
  return waiting;
}

bool HttpServer::LoopsAlive(std::chrono::milliseconds max_age) const {
  int64_t now = NowMs();
  for (const auto& loop : loops_) {
    if (now - loop->heartbeat_ms() > max_age.count()) return false;
  }
  return !loops_.empty();
}

}  // namespace gpuhost::report
