#include "report/serve.h"

#include <arpa/inet.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "base/strings.h"
#include "report/event_loops.h"
#include "report/metrics.h"

#ifndef GPUHOST_VERSION
#define GPUHOST_VERSION "dev"
#endif

namespace gpuhost::report {
namespace {

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& text) {
  auto hp = SplitHostPort(text);
  if (!hp) {
    return Status::Invalid("listen address '" + text + "': want " +
                           (StartsWith(text, "[") ? "[ADDR]:PORT" : "ADDR:PORT"));
  }
  const std::string& host = hp->host;
  const std::string& port = hp->port;
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
    return Status::Invalid("listen address '" + text + "': '" + host + "' is not an IP address");
  }
  auto p = ParseInt(port);
  if (!p || *p < 0 || *p > 65535) {
    return Status::Invalid("listen address '" + text + "': bad port '" + port + "'");
  }
  return ListenAddress{host, static_cast<int>(*p)};
}

bool IsIpLiteral(std::string h) {
  unsigned char buf[16];
  if (StartsWith(h, "[") && h.size() > 2 && h.back() == ']') h = h.substr(1, h.size() - 2);
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

// Host header without its port.
std::string HostName(const std::string& header) {
  if (StartsWith(header, "[")) {
    size_t close = header.find(']');
    return close == std::string::npos ? header : header.substr(0, close + 1);
  }
  size_t colon = header.find(':');
  return colon == std::string::npos ? header : header.substr(0, colon);
}

std::string LocalHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

const std::vector<std::pair<std::string, std::string>>& SecurityHeaders() {
  static const std::vector<std::pair<std::string, std::string>> headers = {
      {"Content-Security-Policy",
       "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'"},
      {"X-Content-Type-Options", "nosniff"},
      {"X-Frame-Options", "DENY"},
      {"Referrer-Policy", "no-referrer"},
      {"Cross-Origin-Resource-Policy", "same-origin"},
      {"Cache-Control", "no-store"},
  };
  return headers;
}

std::string JoinComma(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

HttpReply Content(std::string body, std::string type) {
  HttpReply r;
  r.body = std::move(body);
  r.content_type = std::move(type);
  return r;
}

std::unique_ptr<virt::Watcher> MakeLibvirtWatcher(const ServeOptions& o) {
  if (!o.libvirt) return nullptr;
  virt::Watcher::Options w;
  w.uri = o.libvirt_uri;
  w.max_age = o.libvirt_max_age;
  w.daemon_running = o.libvirt_running ? o.libvirt_running : virt::DaemonRunning;
  return std::make_unique<virt::Watcher>(std::move(w));
}

std::unique_ptr<nvml::Watcher> MakeNvmlWatcher(const ServeOptions& o) {
  if (!o.nvml) return nullptr;
  nvml::Watcher::Options w;
  w.max_age = o.nvml_max_age;
  w.read = o.nvml_read;
  return std::make_unique<nvml::Watcher>(std::move(w));
}

}  // namespace

StatusServer::StatusServer(ServeOptions opts)
    : opts_(std::move(opts)),
      libvirt_(MakeLibvirtWatcher(opts_)),
      nvml_(MakeNvmlWatcher(opts_)),
      cache_(RootFs(opts_.root).HostPath(opts_.state_dir + "/state.json"),
             opts_.hostname.empty() ? LocalHostname() : opts_.hostname,
             BuildInfo{GPUHOST_VERSION, TlsLibraryVersion()}, libvirt_.get(), nvml_.get(),
             opts_.root),
      http_(opts_.limits, opts_.threads > 0 ? opts_.threads : AutoEventLoops(CpusAllowed())) {
  if (opts_.hostname.empty()) opts_.hostname = LocalHostname();
  Configure();
}

StatusServer::~StatusServer() { Stop(); }

// DNS-rebinding defence: a browser only sends a Host we did not choose when
// some DNS name points at us. IP literals, localhost and our own host name
// are fine; any other name is refused.
bool StatusServer::HostAllowed(const std::string& host_header) const {
  std::string name = HostName(host_header);
  return IsIpLiteral(name) || name == "localhost" || name == opts_.hostname;
}

void StatusServer::Configure() {
  http_.SetDefaultHeaders(SecurityHeaders());
  http_.SetReservedPaths({"/healthz"});
  http_.SetHandler([this](const HttpRequest& req) { return Answer(req); });
}

HttpReply StatusServer::Answer(const HttpRequest& req) {
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = HttpReply::Text(405, "method not allowed\n");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return r;
  }
  const std::string* host = req.Header("Host");
  if (!host && req.version != "HTTP/1.0") {  // RFC 9112 3.2
    return HttpReply::Text(400, "no Host header\n");
  }
  if (host && !HostAllowed(*host)) return HttpReply::Text(421, "unknown host\n");
  auto snap = cache_.Current();
  // /healthz stays open for load balancers: it says healthy or not, and why.
  if (req.path == "/healthz") {
    auto r = Content(snap->healthz, "text/plain; charset=utf-8");
    r.status = snap->health.http_status;
    return r;
  }
  if (token_ && !token_->Accepts(req.Header("Authorization"))) {
    auto r = HttpReply::Text(401, "a bearer token is required (Authorization: Bearer ...)\n");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"gpuhost\"");
    return r;
  }
  if (req.path == "/") return Content(snap->page, "text/html; charset=utf-8");
  if (req.path == "/api/v1/status") return Content(snap->api, "application/json");
  if (req.path == "/metrics") return Content(snap->metrics, kMetricsContentType);
  return HttpReply::Text(404, "not found\n");
}

Result<std::vector<int>> StatusServer::Start() {
  std::vector<ListenAddress> addrs;
  std::vector<std::string> open;  // beyond loopback
  for (const auto& l : opts_.listen) {
    auto a = ParseListen(l);
    if (!a.ok()) return a.status();
    addrs.push_back(*a);
    if (!IsLoopbackAddress(a->host)) open.push_back(l);
  }
  if (addrs.empty()) return Status::Invalid("no address to listen on");
  bool tls = !opts_.tls.cert.empty() || !opts_.tls.key.empty();
  if (tls && (opts_.tls.cert.empty() || opts_.tls.key.empty())) {
    return Status::Invalid(opts_.tls.cert.empty()
                               ? "a TLS key without a certificate (--tls-cert)"
                               : "a TLS certificate without its key (--tls-key)");
  }
  if (!tls && !opts_.tls.client_ca.empty()) {
    return Status::Invalid("a client CA (--client-ca) without TLS (--tls-cert, --tls-key)");
  }
  if (!open.empty() && (!tls || opts_.token_file.empty())) {
    std::string missing = !tls && opts_.token_file.empty() ? "TLS and a token"
                          : !tls                           ? "TLS"
                                                           : "a token";
    return Status::Invalid(
        "listen address " + JoinComma(open) +
        " is beyond loopback: that needs TLS (--tls-cert and --tls-key, or the credentials "
        "gpuhost.tls-cert and gpuhost.tls-key) and a token (--token-file, or the credential "
        "gpuhost.token); missing: " +
        missing);
  }
  if (tls) {
    auto ctx = TlsContext::Load(opts_.tls);
    if (!ctx.ok()) return ctx.status();
    http_.SetTls(std::shared_ptr<TlsContext>(std::move(*ctx)));
  }
  if (!opts_.token_file.empty()) {
    auto token = BearerToken::Load(opts_.token_file);
    if (!token.ok()) return token.status();
    token_ = std::move(*token);
  }
  std::vector<int> ports;
  std::vector<Pending> pending;
  Status first_error;
  for (size_t i = 0; i < addrs.size(); ++i) {
    auto port = http_.Listen(addrs[i].host, addrs[i].port);
    if (!port.ok()) {
      if (first_error.ok()) first_error = port.status();
      pending.push_back({opts_.listen[i], addrs[i].host, addrs[i].port});
      ports.push_back(0);
      continue;
    }
    ports.push_back(*port);
  }
  if (pending.size() == addrs.size()) return first_error;
  Status s = http_.Start();
  if (!s.ok()) return s;
  cache_.Current();  // render once now, so the first request is as cheap as the rest
  if (!pending.empty()) {
    for (const auto& p : pending) {
      std::fprintf(stderr, "gpuhost-agent serve: cannot listen on %s yet; retrying every %lld ms\n",
                   p.text.c_str(), static_cast<long long>(retry_interval.count()));
    }
    std::lock_guard<std::mutex> lock(pending_mu_);
    pending_ = std::move(pending);
    retry_ = std::thread([this] { RetryPending(); });
  }
  return ports;
}

// Binds what did not bind at start (the port still held by a process on its
// way out, an address family not up yet) while the others serve.
void StatusServer::RetryPending() {
  std::unique_lock<std::mutex> lock(pending_mu_);
  while (!stopping_ && !pending_.empty()) {
    retry_cv_.wait_for(lock, retry_interval, [this] { return stopping_; });
    if (stopping_) return;
    for (auto it = pending_.begin(); it != pending_.end();) {
      auto port = http_.Listen(it->host, it->port);
      if (!port.ok()) {
        ++it;
        continue;
      }
      std::fprintf(stderr, "gpuhost-agent serve: now listening on %s too\n", it->text.c_str());
      it = pending_.erase(it);
    }
  }
}

std::vector<std::string> StatusServer::pending() const {
  std::lock_guard<std::mutex> lock(pending_mu_);
  std::vector<std::string> out;
  for (const auto& p : pending_) out.push_back(p.text);
  return out;
}

void StatusServer::Stop() {
  {
    std::lock_guard<std::mutex> lock(pending_mu_);
    stopping_ = true;
  }
  retry_cv_.notify_all();
  if (retry_.joinable()) retry_.join();
  http_.Stop();
}

Status Serve(const ServeOptions& opts) {
  // One malloc arena for the whole process, set before any thread starts.
  // glibc gives each thread its own arena; a burst of TLS handshakes (each
  // holds ~35 KB inside OpenSSL until its client's Finished arrives: 64
  // connections at once touch ~2.3 MB) lands in the arena of whichever loop
  // accepted it, and the next burst, on the other loop, touched as much again
  // in a second arena: peak RSS 16.1 MB in bench/serve_bench.sh with TLS. In
  // one arena the second burst reuses the first one's pages (15.x MB). Two
  // loops contend for one lock briefly per allocation; requests/s did not
  // change measurably (docs/status-api.md, "Benchmark").
  mallopt(M_ARENA_MAX, 1);
  // Signals are taken synchronously by this thread; the loops never see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StatusServer server(opts);
  auto ports = server.Start();
  if (!ports.ok()) return ports.status();
  std::string where;
  for (size_t i = 0; i < opts.listen.size(); ++i) {
    where += " " + opts.listen[i];
    if (!opts.listen[i].ends_with(":" + std::to_string((*ports)[i]))) {
      where += " (port " + std::to_string((*ports)[i]) + ")";
    }
  }
  sd_notifyf(0, "READY=1\nSTATUS=serving on%s", where.c_str());
  std::fprintf(stderr, "gpuhost-agent serve: listening on%s (%d event loop%s)\n", where.c_str(),
               server.http().threads(), server.http().threads() == 1 ? "" : "s");

  // This thread is the watchdog's timer: it wakes at half of WATCHDOG_USEC
  // and pings only while every event loop went round in that time.
  uint64_t watchdog_us = 0;
  bool watchdog = sd_watchdog_enabled(0, &watchdog_us) > 0 && watchdog_us > 0;
  uint64_t interval_us = watchdog ? watchdog_us / 2 : 3600ull * 1000000;
  timespec ts{static_cast<time_t>(interval_us / 1000000),
              static_cast<long>(interval_us % 1000000) * 1000};
  auto max_age = std::chrono::milliseconds(std::max<uint64_t>(interval_us / 1000, 500));
  if (watchdog) sd_notify(0, "WATCHDOG=1");
  for (;;) {
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) break;
    if (sig < 0 && errno != EAGAIN && errno != EINTR) break;
    if (!watchdog) continue;
    if (server.http().LoopsAlive(max_age)) {
      sd_notify(0, "WATCHDOG=1");
    } else {
      std::fprintf(stderr, "gpuhost-agent serve: an event loop is stuck; no watchdog ping\n");
    }
  }
  sd_notify(0, "STOPPING=1");
  server.Stop();
  return Status::Ok();
}

}  // namespace gpuhost::report
