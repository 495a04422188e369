// One bounded HTTPS GET (cpp-httplib's client over OpenSSL): what the agent
// fetches a fleet policy with. Only this library links cpp-httplib.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace gpuhost::fetch {

struct GetOptions {
  // PEM CA file that must have signed the server's certificate; "" for the
  // system's CA bundle (OpenSSL's default paths). Only that one is trusted
  // when given. The name in the URL must match the certificate either way.
  std::string ca_file;
  int connect_timeout_ms = 5000;  // TCP connect
  int total_timeout_ms = 5000;    // everything: connect, TLS, request, answer
  size_t max_bytes = 1 << 20;     // body cap
};

// The body of a 200 answer to GET `url` (https:// only, no placeholder). No
// redirect is followed, nothing is cached. Errors, each naming the URL:
//   Invalid   the body is larger than max_bytes (by Content-Length or as
//             read): the server answered, with something no policy can be;
//             also a URL that is not https://;
//   NotFound  HTTP 404 or 410;
//   Timeout   no complete answer within total_timeout_ms (or no connection
//             within connect_timeout_ms);
//   Io        anything else: no connection, TLS failure (the certificate's
//             check named: "certificate verify failed: unable to get local
//             issuer certificate"), another HTTP status, a redirect.
// Blocks SIGPIPE on the calling thread while it runs.
Result<std::string> HttpsGet(const std::string& url, const GetOptions& opts);

// The cpp-httplib this was built with, "0.11.4".
const char* HttplibVersion();

}  // namespace gpuhost::fetch
