#include "fetch/https_get.h"

#include <httplib.h>
#include <openssl/x509.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "base/strings.h"
#include "fleet/url_template.h"

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#error "cpp-httplib must be used with CPPHTTPLIB_OPENSSL_SUPPORT (pkg-config cpp-httplib --cflags)"
#endif

namespace gpuhost::fetch {
namespace {

using Clock = std::chrono::steady_clock;

// The total deadline: cpp-httplib bounds each read and the connect, not the
// whole exchange (a server that sends a byte every few seconds would hold it
// for ever). A watchdog thread shuts the socket down at the deadline through a
// dup() of it, which stays ours: no race with the client closing its own fd.
class Watchdog {
 public:
  explicit Watchdog(Clock::time_point deadline)
      : thread_([this, deadline] {
          std::unique_lock<std::mutex> lock(mu_);
          if (!cv_.wait_until(lock, deadline, [this] { return done_; })) {
            fired_ = true;
            if (fd_ >= 0) shutdown(fd_, SHUT_RDWR);
          }
        }) {}
  ~Watchdog() {
    Stop();
    if (fd_ >= 0) close(fd_);
  }
  Watchdog(const Watchdog&) = delete;
  Watchdog& operator=(const Watchdog&) = delete;

  // The client's new socket (called before it connects).
  void Adopt(int sock) {
    std::lock_guard<std::mutex> lock(mu_);
    if (fd_ >= 0) close(fd_);
    fd_ = dup(sock);
    if (fired_ && fd_ >= 0) shutdown(fd_, SHUT_RDWR);
  }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  bool fired() {
    std::lock_guard<std::mutex> lock(mu_);
    return fired_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool fired_ = false;
  int fd_ = -1;
  std::thread thread_;
};

// SIGPIPE blocked while OpenSSL writes with write(): a server that closes
// early must not kill the agent. A SIGPIPE raised meanwhile is taken.
class NoSigpipe {
 public:
  NoSigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &old_);
  }
  ~NoSigpipe() {
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    struct timespec zero = {0, 0};
    while (sigtimedwait(&pipe, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  NoSigpipe(const NoSigpipe&) = delete;
  NoSigpipe& operator=(const NoSigpipe&) = delete;

 private:
  sigset_t old_;
};

std::string Mib(size_t bytes) {
  if (bytes % (1 << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  return std::to_string(bytes) + " bytes";
}

void SetTimeout(int ms, const std::function<void(time_t, time_t)>& set) {
  if (ms < 1) ms = 1;
  set(ms / 1000, (ms % 1000) * 1000);
}

}  // namespace

const char* HttplibVersion() { return CPPHTTPLIB_VERSION; }

Result<std::string> HttpsGet(const std::string& url, const GetOptions& opts) {
  auto target = fleet::SplitHttpsUrl(url);
  if (!target.ok()) return target.status();
  NoSigpipe no_sigpipe;
  const auto deadline = Clock::now() + std::chrono::milliseconds(opts.total_timeout_ms);

  httplib::SSLClient cli(target->host, target->port);
  if (!opts.ca_file.empty()) cli.set_ca_cert_path(opts.ca_file.c_str());
  cli.enable_server_certificate_verification(true);
  cli.set_follow_location(false);
  cli.set_keep_alive(false);
  SetTimeout(std::min(opts.connect_timeout_ms, opts.total_timeout_ms),
             [&cli](time_t s, time_t us) { cli.set_connection_timeout(s, us); });
  SetTimeout(opts.total_timeout_ms, [&cli](time_t s, time_t us) { cli.set_read_timeout(s, us); });
  SetTimeout(opts.total_timeout_ms, [&cli](time_t s, time_t us) { cli.set_write_timeout(s, us); });

  Watchdog watchdog(deadline);
  cli.set_socket_options([&watchdog](socket_t sock) { watchdog.Adopt(sock); });

  int status = 0;
  std::string location;
  bool too_big = false;
  size_t declared = 0;
  std::string body;
  httplib::Headers headers = {{"Accept", "application/json"},
                              {"User-Agent", "gpuhost-agent"},
                              {"Accept-Encoding", "identity"}};
  auto res = cli.Get(
      target->target, headers,
      [&](const httplib::Response& r) {
        status = r.status;
        location = r.get_header_value("Location");
        if (status != 200) return false;  // the body is not wanted
        if (r.has_header("Content-Length")) {
          auto n = ParseInt(r.get_header_value("Content-Length"));
          if (n && *n > 0 && static_cast<uint64_t>(*n) > opts.max_bytes) {
            declared = static_cast<size_t>(*n);
            too_big = true;
            return false;
          }
        }
        return Clock::now() < deadline;
      },
      [&](const char* data, size_t n) {
        if (body.size() + n > opts.max_bytes) {
          too_big = true;
          return false;
        }
        body.append(data, n);
        return Clock::now() < deadline;
      });
  watchdog.Stop();
  const std::string where = url + ": ";
  if (too_big) {
    return Status::Invalid(
        where + "the answer is larger than the " + Mib(opts.max_bytes) + " a policy may have" +
        (declared > 0 ? " (Content-Length " + std::to_string(declared) + ")" : ""));
  }
  if (status != 0 && status != 200) {
    if (status == 404 || status == 410) {
      return Status::NotFound(where + "not found (HTTP " + std::to_string(status) + ")");
    }
    if (status >= 300 && status < 400) {
      return Status::Io(where + "HTTP " + std::to_string(status) + " redirect to '" +
                        location.substr(0, 200) + "' not followed");
    }
    return Status::Io(where + "HTTP " + std::to_string(status));
  }
  if (watchdog.fired() || (res.error() != httplib::Error::Success && Clock::now() >= deadline)) {
    return Status::Timeout(where + "no complete answer within " +
                           std::to_string(opts.total_timeout_ms) + " ms");
  }
  switch (res.error()) {
    case httplib::Error::Success:
      break;
    case httplib::Error::ConnectionTimeout:
      return Status::Timeout(
          where + "no connection within " +
          std::to_string(std::min(opts.connect_timeout_ms, opts.total_timeout_ms)) + " ms");
    case httplib::Error::SSLServerVerification: {
      long v = cli.get_openssl_verify_result();
      if (v != X509_V_OK) {
        return Status::Io(where + "certificate verify failed: " + X509_verify_cert_error_string(v) +
                          (opts.ca_file.empty() ? " (checked against the system's CA bundle)"
                                                : " (checked against " + opts.ca_file + ")"));
      }
      return Status::Io(where + "certificate verify failed: it does not name " + target->host);
    }
    case httplib::Error::SSLLoadingCerts:
      return Status::Io(where + "cannot load the CA certificates" +
                        (opts.ca_file.empty() ? " (the system's CA bundle)" : " " + opts.ca_file));
    default:
      return Status::Io(where + httplib::to_string(res.error()));
  }
  return body;
}

}  // namespace gpuhost::fetch
