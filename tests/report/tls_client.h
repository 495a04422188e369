// Test-side TLS: a throwaway CA with a server and a client certificate made
// by the openssl command, and a small blocking TLS client over loopback.
#pragma once

#include <string>
#include <vector>

#include "report/http_client.h"

namespace gpuhost::testing {

// Files under `dir`: ca.crt, server.crt/server.key (CN localhost, SAN
// 127.0.0.1, ::1 and localhost), client.crt/client.key, and other.key (a key
// that matches nothing). Returns false (and says why on stderr) on failure.
bool MakeTestCerts(const std::string& dir);

struct TlsClientOptions {
  std::string ca_file;                  // the server must chain to this; empty: no check
  std::string cert, key;                // a client certificate, for mutual TLS
  int max_version = 0;                  // e.g. TLS1_1_VERSION to try an old protocol; 0: any
  bool read = true;                     // false: send the request and hang up without reading
  std::string source_ip = "127.0.0.1";  // the client's address (127.0.0.0/8)
};

// Connects to 127.0.0.1:port, completes the handshake (verifying the server
// for "127.0.0.1"), sends `request` and reads one response. Status 0 and
// *error set when the handshake or the exchange fails.
HttpResponse TlsExchange(int port, const std::string& request, const TlsClientOptions& opts,
                         std::string* error = nullptr, bool head_request = false);

// Connects and completes the handshake like TlsExchange, then sends each of
// `records` (one or more requests each) as its own TLS record, all in one
// TCP segment (TCP_CORK), and reads until `responses` responses came or the
// read timed out (5 s). Returns how many status lines came; *error says why
// it stopped short.
int TlsPipelined(int port, const std::vector<std::string>& records, int responses,
                 const TlsClientOptions& opts, std::string* error = nullptr);

// A client that sends its ClientHello and never goes on: the server holds
// the handshake, waiting for the client's next flight, until its timeout or
// until this client closes (a FIN on destruction, or Reset()).
class StalledTlsClient {
 public:
  StalledTlsClient(int port, const std::string& source_ip);
  ~StalledTlsClient();
  StalledTlsClient(const StalledTlsClient&) = delete;
  StalledTlsClient& operator=(const StalledTlsClient&) = delete;
  bool ok() const { return ok_; }  // connected and the ClientHello sent
  // Closes with a reset (RST) instead of a FIN.
  void Reset();

 private:
  int fd_ = -1;
  bool ok_ = false;
};

// GET `path` over TLS, with "Authorization: Bearer <token>" when token is set.
HttpResponse TlsGet(int port, const std::string& path, const TlsClientOptions& opts,
                    const std::string& token = "");

}  // namespace gpuhost::testing
