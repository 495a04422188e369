#include "report/serve.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "base/strings.h"
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

const httplib::Headers& SecurityHeaders() {
  static const httplib::Headers headers = {
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

using Handled = httplib::Server::HandlerResponse;

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
             BuildInfo{GPUHOST_VERSION, CPPHTTPLIB_VERSION}, libvirt_.get(), nvml_.get(),
             opts_.root),
      http_(opts_.limits, opts_.threads) {
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
  Routes& r = http_.routes();
  http_.SetDefaultHeaders(SecurityHeaders());
  r.set_payload_max_length(0);
  // One pre-routing handler answers everything: no regex routing per
  // request, and nothing reaches httplib's body readers.
  r.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") {
      res.status = 405;
      res.set_header("Allow", "GET, HEAD");
      res.set_content("method not allowed\n", "text/plain");
      return Handled::Handled;
    }
    if (!req.has_header("Host") && req.version != "HTTP/1.0") {  // RFC 9112 3.2
      res.status = 400;
      res.set_content("no Host header\n", "text/plain");
      return Handled::Handled;
    }
    if (req.has_header("Host") && !HostAllowed(req.get_header_value("Host"))) {
      res.status = 421;
      res.set_content("unknown host\n", "text/plain");
      return Handled::Handled;
    }
    auto snap = cache_.Current();
    if (req.path == "/") {
      res.set_content(snap->page, "text/html; charset=utf-8");
    } else if (req.path == "/healthz") {
      res.status = snap->health.http_status;
      res.set_content(snap->healthz, "text/plain; charset=utf-8");
    } else if (req.path == "/api/v1/status") {
      res.set_content(snap->api, "application/json");
    } else if (req.path == "/metrics") {
      res.set_content(snap->metrics, kMetricsContentType);
    } else {
      res.status = 404;
      res.set_content("not found\n", "text/plain");
    }
    return Handled::Handled;
  });
  r.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty()) res.set_content(std::to_string(res.status) + "\n", "text/plain");
  });
  r.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("internal error\n", "text/plain");
  });
}

Result<std::vector<int>> StatusServer::Start() {
  std::vector<ListenAddress> addrs;
  for (const auto& l : opts_.listen) {
    auto a = ParseListen(l);
    if (!a.ok()) return a.status();
    addrs.push_back(*a);
  }
  if (addrs.empty()) return Status::Invalid("no address to listen on");
  std::vector<int> ports;
  for (const auto& a : addrs) {
    auto port = http_.Listen(a.host, a.port);
    if (!port.ok()) return port.status();
    ports.push_back(*port);
  }
  Status s = http_.Start();
  if (!s.ok()) return s;
  cache_.Current();  // render once now, so the first request is as cheap as the rest
  return ports;
}

void StatusServer::Stop() { http_.Stop(); }

Status Serve(const ServeOptions& opts) {
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
  std::fprintf(stderr, "gpuhost-agent serve: listening on%s\n", where.c_str());

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
