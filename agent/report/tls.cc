#include "report/tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <cstdio>

namespace gpuhost::report {
namespace {

// OpenSSL's queued errors as one line, the queue emptied.
std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

// A file OpenSSL would fail on with a vague message: say first that it
// cannot be opened, with errno, naming it.
Status Readable(const std::string& what, const std::string& path) {
  if (path.empty()) return Status::Invalid(what + ": no file given");
  FILE* f = std::fopen(path.c_str(), "r");
  if (!f) return Status::FromErrno(what + " " + path, errno);
  std::fclose(f);
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<TlsContext>> TlsContext::Load(const TlsFiles& files) {
  if (Status s = Readable("TLS certificate", files.cert); !s.ok()) return s;
  if (Status s = Readable("TLS key", files.key); !s.ok()) return s;
  if (!files.client_ca.empty()) {
    if (Status s = Readable("TLS client CA", files.client_ca); !s.ok()) return s;
  }
  ERR_clear_error();
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return Status::Io("TLS: " + OpenSslErrors());
  std::unique_ptr<TlsContext> out(new TlsContext(ctx, !files.client_ca.empty()));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No session tickets or cache: every connection is a full handshake, and
  // no ticket key lives in this process's memory for its lifetime.
  SSL_CTX_set_options(ctx,
                      SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  // SSL_OP_NO_TICKET alone does not stop TLS 1.3 tickets: OpenSSL then
  // sends two stateful ones (session ids) per handshake, each a copy of the
  // session, which no client can use with the cache off. None are sent.
  SSL_CTX_set_num_tickets(ctx, 0);
  // Non-blocking writes that may be retried from a moved buffer, and
  // partial writes: the event loop keeps its own output buffer.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  // Read ahead: one read() takes what the socket holds (a request's record
  // whole) instead of a 5-byte record header and then its body, two system
  // calls per request. The event loop reads on while SSL_has_pending().
  SSL_CTX_set_read_ahead(ctx, 1);
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert.c_str()) != 1) {
    return Status::Invalid("TLS certificate " + files.cert + ": not a PEM certificate (" +
                           OpenSslErrors() + ")");
  }
  // Read apart from using it: "not a key" and "not this certificate's key"
  // are different mistakes and get different messages.
  EVP_PKEY* pkey = nullptr;
  if (FILE* f = std::fopen(files.key.c_str(), "r")) {
    pkey = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
  }
  if (!pkey) {
    return Status::Invalid("TLS key " + files.key + ": not a PEM private key (" + OpenSslErrors() +
                           ")");
  }
  int used = SSL_CTX_use_PrivateKey(ctx, pkey);
  EVP_PKEY_free(pkey);
  if (used != 1 || SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return Status::Invalid("TLS key " + files.key + " does not match the certificate " +
                           files.cert);
  }
  if (!files.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.client_ca.c_str(), nullptr) != 1) {
      return Status::Invalid("TLS client CA " + files.client_ca + ": not a PEM CA bundle (" +
                             OpenSslErrors() + ")");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  ERR_clear_error();
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

std::string TlsLibraryVersion() { return OpenSSL_version(OPENSSL_VERSION_STRING); }

}  // namespace gpuhost::report
