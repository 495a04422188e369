// TLS for the status server: one OpenSSL server context, loaded once at
// start from the operator's files (certificate chain, key, and optionally the
// CA that client certificates must chain to). TLS 1.2 and 1.3 only.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace gpuhost::report {

struct TlsFiles {
  std::string cert;       // PEM certificate chain, leaf first
  std::string key;        // PEM private key of the leaf
  std::string client_ca;  // PEM CA bundle; non-empty: clients must present a certificate
};

class TlsContext {
 public:
  // Fails naming the file that cannot be read or parsed, or the pair that
  // does not match; nothing is served then.
  static Result<std::unique_ptr<TlsContext>> Load(const TlsFiles& files);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  SSL_CTX* ctx() const { return ctx_; }
  bool mutual() const { return mutual_; }

 private:
  TlsContext(SSL_CTX* ctx, bool mutual) : ctx_(ctx), mutual_(mutual) {}
  SSL_CTX* ctx_;
  bool mutual_;
};

// "3.0.19": the OpenSSL this process runs with.
std::string TlsLibraryVersion();

}  // namespace gpuhost::report
