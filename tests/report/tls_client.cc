#include "report/tls_client.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

#include "base/fileio.h"

namespace gpuhost::testing {
namespace {

bool Run(const std::string& cmd) {
  int rc = std::system((cmd + " >/dev/null 2>&1").c_str());
  if (rc != 0) std::fprintf(stderr, "failed (%d): %s\n", rc, cmd.c_str());
  return rc == 0;
}

std::string Errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += std::string(out.empty() ? "" : "; ") + buf;
  }
  return out;
}

}  // namespace

bool MakeTestCerts(const std::string& dir) {
  const std::string d = "'" + dir + "'";
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  return Run("openssl req -x509 " + ec + " -keyout " + d + "/ca.key -out " + d +
             "/ca.crt -days 2 -subj /CN=gpuhost-test-ca") &&
         Run("openssl req " + ec + " -keyout " + d + "/server.key -out " + d +
             "/server.csr -subj /CN=localhost") &&
         WriteFileAtomic(dir + "/san.ext", "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost\n")
             .ok() &&
         Run("openssl x509 -req -in " + d + "/server.csr -CA " + d + "/ca.crt -CAkey " + d +
             "/ca.key -CAcreateserial -days 2 -extfile " + d + "/san.ext -out " + d +
             "/server.crt") &&
         Run("openssl req " + ec + " -keyout " + d + "/client.key -out " + d +
             "/client.csr -subj /CN=gpuhost-test-client") &&
         Run("openssl x509 -req -in " + d + "/client.csr -CA " + d + "/ca.crt -CAkey " + d +
             "/ca.key -CAcreateserial -days 2 -out " + d + "/client.crt") &&
         Run("openssl genpkey -algorithm ec -pkeyopt ec_paramgen_curve:P-256 -out " + d +
             "/other.key");
}

namespace {

// A client connection with its handshake done (verifying the server for
// "127.0.0.1"), or `error` saying why not; frees what it holds.
struct TlsConnection {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  int fd = -1;
  std::string error;

  TlsConnection(int port, const TlsClientOptions& opts) {
    ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
      error = "SSL_CTX_new: " + Errors();
      return;
    }
    if (opts.max_version) {
      SSL_CTX_set_min_proto_version(ctx, 0);
      SSL_CTX_set_max_proto_version(ctx, opts.max_version);
      SSL_CTX_set_security_level(ctx, 0);  // let the client offer what the server must refuse
    }
    if (!opts.ca_file.empty()) {
      SSL_CTX_load_verify_locations(ctx, opts.ca_file.c_str(), nullptr);
      SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    }
    if (!opts.cert.empty()) {
      SSL_CTX_use_certificate_chain_file(ctx, opts.cert.c_str());
      SSL_CTX_use_PrivateKey_file(ctx, opts.key.c_str(), SSL_FILETYPE_PEM);
    }
    fd = ConnectLoopbackFrom(port, opts.source_ip);
    ssl = fd >= 0 ? SSL_new(ctx) : nullptr;
    if (!ssl) {
      error = fd < 0 ? "connect failed" : "SSL_new: " + Errors();
      return;
    }
    SSL_set_fd(ssl, fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), "127.0.0.1");
    if (SSL_connect(ssl) != 1) error = "handshake: " + Errors();
  }
  ~TlsConnection() {
    SSL_free(ssl);
    if (fd >= 0) close(fd);
    SSL_CTX_free(ctx);
  }
  TlsConnection(const TlsConnection&) = delete;
  TlsConnection& operator=(const TlsConnection&) = delete;
  bool ok() const { return error.empty(); }
};

}  // namespace

HttpResponse TlsExchange(int port, const std::string& request, const TlsClientOptions& opts,
                         std::string* error, bool head_request) {
  std::string ignored;
  std::string& err = error ? *error : ignored;
  HttpResponse r;
  TlsConnection c(port, opts);
  err = c.error;
  if (!c.ok()) return r;
  if (SSL_write(c.ssl, request.data(), static_cast<int>(request.size())) <= 0) {
    err = "write: " + Errors();
  } else if (opts.read) {
    // TLS 1.3 may report a refused client certificate only on the first read.
    SSL* ssl = c.ssl;
    r = ReadResponseFrom(
        [ssl](char* buf, size_t n) { return static_cast<ssize_t>(SSL_read(ssl, buf, n)); },
        head_request);
    if (r.status == 0) err = "read: " + Errors();
  }
  return r;
}

int TlsPipelined(int port, const std::vector<std::string>& records, int responses,
                 const TlsClientOptions& opts, std::string* error) {
  std::string ignored;
  std::string& err = error ? *error : ignored;
  TlsConnection c(port, opts);
  err = c.error;
  if (!c.ok()) return 0;
  // Corked, the records leave in one segment once uncorked: the server's
  // first read can take them all.
  int on = 1, off = 0;
  setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof on);
  for (const auto& record : records) {
    if (SSL_write(c.ssl, record.data(), static_cast<int>(record.size())) <= 0) {
      err = "write: " + Errors();
      return 0;
    }
  }
  setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
  std::string got;
  auto count = [&got] {
    int n = 0;
    for (size_t at = got.find("HTTP/1.1 "); at != std::string::npos;
         at = got.find("HTTP/1.1 ", at + 1)) {
      ++n;
    }
    return n;
  };
  // Until every status line came, or the socket's 5-s receive timeout.
  while (count() < responses) {
    char buf[4096];
    int n = SSL_read(c.ssl, buf, sizeof buf);
    if (n <= 0) {
      err = "read after " + std::to_string(count()) + " responses: " + Errors();
      break;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return count();
}

StalledTlsClient::StalledTlsClient(int port, const std::string& source_ip) {
  // The ClientHello is made into a memory BIO and sent by hand: with the
  // socket under OpenSSL, a fast server's answer could arrive while
  // SSL_connect still runs, and it would finish the handshake.
  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  SSL* ssl = ctx ? SSL_new(ctx) : nullptr;
  std::string hello;
  if (ssl) {
    BIO* in = BIO_new(BIO_s_mem());
    BIO* out = BIO_new(BIO_s_mem());
    SSL_set_bio(ssl, in, out);  // owned by ssl from here
    if (SSL_connect(ssl) == -1) {
      char* data = nullptr;
      long n = BIO_get_mem_data(out, &data);
      if (n > 0) hello.assign(data, static_cast<size_t>(n));
    }
  }
  ERR_clear_error();
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  if (hello.empty()) return;
  fd_ = ConnectLoopbackFrom(port, source_ip);
  ok_ = fd_ >= 0 && SendAll(fd_, hello);
}

StalledTlsClient::~StalledTlsClient() {
  if (fd_ >= 0) close(fd_);
}

void StalledTlsClient::Reset() {
  if (fd_ < 0) return;
  linger now{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &now, sizeof now);
  close(fd_);
  fd_ = -1;
}

HttpResponse TlsGet(int port, const std::string& path, const TlsClientOptions& opts,
                    const std::string& token) {
  std::string auth = token.empty() ? "" : "Authorization: Bearer " + token + "\r\n";
  return TlsExchange(
      port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Connection: close\r\n\r\n",
      opts);
}

}  // namespace gpuhost::testing
