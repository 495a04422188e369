#include "report/serve.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <memory>
#include <thread>

#include <httplib.h>
#include <systemd/sd-daemon.h>

#include "base/fileio.h"
#include "base/strings.h"
#include "inventory/json.h"
#include "report/page.h"

namespace gpuhost::report {
namespace {

struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
};

Result<ListenAddress> ParseListen(const std::string& text) {
  std::string host, port;
  if (StartsWith(text, "[")) {
    size_t close = text.find("]:");
    if (close == std::string::npos) return Status::Invalid("listen address '" + text + "': want [ADDR]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string::npos) return Status::Invalid("listen address '" + text + "': want ADDR:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
  }
  unsigned char buf[16];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1 && inet_pton(AF_INET6, host.c_str(), buf) != 1) {
    return Status::Invalid("listen address '" + text + "': '" + host + "' is not an IP address");
  }
  auto p = ParseInt(port);
  if (!p || *p < 1 || *p > 65535) {
    return Status::Invalid("listen address '" + text + "': bad port '" + port + "'");
  }
  return ListenAddress{host, static_cast<int>(*p)};
}

bool IsIpLiteral(const std::string& host) {
  unsigned char buf[16];
  std::string h = host;
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

class StatusServer {
 public:
  explicit StatusServer(const ServeOptions& opts) : opts_(opts) {
    char buf[256] = {};
    if (gethostname(buf, sizeof buf - 1) == 0) hostname_ = buf;
  }

  // DNS-rebinding defence: a browser only sends a Host we did not choose
  // when some DNS name points at us. IP literals, localhost and our own
  // host name are fine; any other name is refused.
  bool HostAllowed(const httplib::Request& req) const {
    if (!req.has_header("Host")) return true;  // HTTP/1.0 clients
    std::string name = HostName(req.get_header_value("Host"));
    return IsIpLiteral(name) || name == "localhost" || (!hostname_.empty() && name == hostname_);
  }

  void Configure(httplib::Server& s) {
    s.set_payload_max_length(4096);
    s.set_read_timeout(5, 0);
    s.set_write_timeout(5, 0);
    s.set_keep_alive_max_count(100);
    s.set_keep_alive_timeout(5);
    s.new_task_queue = [] { return new httplib::ThreadPool(4); };
    s.set_default_headers({
        {"Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"},
        {"X-Content-Type-Options", "nosniff"},
        {"X-Frame-Options", "DENY"},
        {"Referrer-Policy", "no-referrer"},
        {"Cache-Control", "no-store"},
    });
    s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (req.method != "GET" && req.method != "HEAD") {
        res.status = 405;
        res.set_header("Allow", "GET, HEAD");
        res.set_content("method not allowed\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!HostAllowed(req)) {
        res.status = 421;
        res.set_content("unknown host\n", "text/plain");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    s.set_error_handler([](const httplib::Request&, httplib::Response& res) {
      if (res.body.empty()) {
        res.set_content(std::to_string(res.status) + "\n", "text/plain");
      }
    });
    s.Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
      auto inv = Load();
      if (inv.ok()) {
        res.set_content("ok\n", "text/plain");
      } else {
        res.status = 503;
        res.set_content(inv.status().ToString() + "\n", "text/plain");
      }
    });
    s.Get("/api/v1/status", [this](const httplib::Request&, httplib::Response& res) {
      auto inv = Load();
      nlohmann::json j;
      if (inv.ok()) {
        j = {{"hostname", hostname_}, {"healthy", true}, {"inventory", inventory::ToJson(*inv)}};
      } else {
        res.status = 503;
        j = {{"hostname", hostname_}, {"healthy", false}, {"error", inv.status().ToString()}};
      }
      res.set_content(j.dump(2) + "\n", "application/json");
    });
    s.Get("/", [this](const httplib::Request&, httplib::Response& res) {
      auto inv = Load();
      if (!inv.ok()) {
        res.status = 503;
        inventory::Inventory empty;
        empty.warnings.push_back({"agent", inv.status().ToString()});
        res.set_content(RenderPage(empty, hostname_), "text/html; charset=utf-8");
        return;
      }
      res.set_content(RenderPage(*inv, hostname_), "text/html; charset=utf-8");
    });
  }

  Result<inventory::Inventory> Load() const {
    std::string path = opts_.state_dir + "/inventory.json";
    auto text = ReadFileAt(path);
    if (!text.ok()) return text.status();
    auto j = nlohmann::json::parse(*text, nullptr, false);
    if (j.is_discarded()) return Status::Invalid(path + ": not valid JSON");
    return inventory::InventoryFromJson(j);
  }

 private:
  ServeOptions opts_;
  std::string hostname_;
};

}  // namespace

Status Serve(const ServeOptions& opts) {
  std::vector<ListenAddress> addrs;
  for (const auto& l : opts.listen) {
    auto a = ParseListen(l);
    if (!a.ok()) return a.status();
    addrs.push_back(*a);
  }
  // Signals are taken synchronously by this thread; server threads never see them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  StatusServer status(opts);
  std::vector<std::unique_ptr<httplib::Server>> servers;
  for (const auto& a : addrs) {
    auto s = std::make_unique<httplib::Server>();
    status.Configure(*s);
    if (!s->bind_to_port(a.host, a.port)) {
      return Status::Io("cannot listen on " + a.host + ":" + std::to_string(a.port));
    }
    servers.push_back(std::move(s));
  }
  std::vector<std::thread> threads;
  for (auto& s : servers) threads.emplace_back([&s] { s->listen_after_bind(); });
  std::string where;
  for (const auto& l : opts.listen) where += " " + l;
  sd_notifyf(0, "READY=1\nSTATUS=serving on%s", where.c_str());
  std::fprintf(stderr, "gpuhost-agent serve: listening on%s\n", where.c_str());
  int sig = 0;
  sigwait(&set, &sig);
  sd_notify(0, "STOPPING=1");
  for (auto& s : servers) s->stop();
  for (auto& t : threads) t.join();
  return Status::Ok();
}

}  // namespace gpuhost::report
