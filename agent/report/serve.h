// `gpuhost-agent serve`: the status page, JSON API, health check and metrics,
// rendered from the agent's state file (docs/status-api.md).
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "libvirt/virt.h"
#include "libvirt/watcher.h"
#include "nvml/watcher.h"
#include "report/access.h"
#include "report/http_server.h"
#include "report/snapshot.h"
#include "report/tls.h"

namespace gpuhost::report {

struct ServeOptions {
  std::vector<std::string> listen;  // "127.0.0.1:8080", "[::1]:8080"; port 0 picks one
  // Certificate and key: every address speaks TLS (client_ca: mutual TLS).
  TlsFiles tls;
  // Non-empty: every path but /healthz needs "Authorization: Bearer <token>".
  // An address beyond loopback is refused unless both TLS and a token are set.
  std::string token_file;
  std::string state_dir;  // holds state.json (written by the agent), under root
  // The machine (or tree) whose boot id and run marker say whether the
  // result is current (report/freshness.h).
  std::string root = "/";
  // Event loops, 1..64; 0: one per CPU in the affinity mask, at most four
  // (report/event_loops.h).
  int threads = 0;
  HttpLimits limits;
  std::string hostname;  // empty: gethostname()
  // Read libvirt (qemu:///system, read-only) while its daemon runs, at most
  // every libvirt_max_age while requests come; false: the state file only.
  bool libvirt = true;
  std::string libvirt_uri = "qemu:///system";
  std::chrono::milliseconds libvirt_max_age{5000};
  std::function<bool()> libvirt_running;  // empty: virt::DaemonRunning
  // Read the host's NVIDIA GPUs through NVML (dlopen()ed; none, or no
  // library, is shown as such), at most every nvml_max_age while requests come.
  bool nvml = true;
  std::chrono::milliseconds nvml_max_age{5000};
  std::function<nvml::Report(const std::vector<inventory::PciAddress>&)> nvml_read;  // tests
};

// The status server without signals or systemd: Serve() runs one, tests run
// one in-process.
class StatusServer {
 public:
  explicit StatusServer(ServeOptions opts);
  ~StatusServer();

  // Loads TLS and the token, binds every --listen address, then starts
  // serving. Returns the ports bound, in --listen order (0 for an address
  // that could not be bound yet). Fails naming what is wrong, and nothing is
  // served, when an address cannot be parsed, an address beyond loopback
  // lacks TLS or a token, a TLS file or the token is bad, or no address
  // binds. Addresses that do not bind while others did are retried every
  // retry_interval until they do (`pending()` lists them, Start() warns).
  Result<std::vector<int>> Start();
  void Stop();
  std::vector<std::string> pending() const;
  std::chrono::milliseconds retry_interval{2000};

  HttpServer& http() { return http_; }
  SnapshotCache& cache() { return cache_; }

 private:
  void Configure();
  bool HostAllowed(const std::string& host_header) const;
  HttpReply Answer(const HttpRequest& req);
  void RetryPending();

  struct Pending {
    std::string text;  // as given: "0.0.0.0:8080"
    std::string host;
    int port = 0;
  };

  ServeOptions opts_;
  std::unique_ptr<virt::Watcher> libvirt_;  // before cache_, which uses it
  std::unique_ptr<nvml::Watcher> nvml_;     // before cache_, which uses it
  SnapshotCache cache_;
  std::optional<BearerToken> token_;
  HttpServer http_;
  mutable std::mutex pending_mu_;
  std::vector<Pending> pending_;
  std::condition_variable retry_cv_;
  bool stopping_ = false;
  std::thread retry_;
};

// Runs until SIGTERM or SIGINT: READY=1 once every address is bound, and
// WATCHDOG=1 at half of WATCHDOG_USEC while every event loop is alive.
Status Serve(const ServeOptions& opts);

}  // namespace gpuhost::report
