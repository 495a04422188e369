// The HTTP/1.1 messages of the status server: a request read from a head the
// front end has already checked (report/http_head.h), and the reply written
// back. Pure functions over strings; the event loop (report/http_server.h)
// does the I/O. The server answers a handful of GET paths with small bodies,
// so this is all of HTTP it needs: no bodies in, no ranges, no chunking.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gpuhost::report {

struct HttpRequest {
  std::string method;   // "GET"
  std::string target;   // "/api/v1/status?x=1", as sent
  std::string path;     // "/api/v1/status": the target without its query
  std::string version;  // "HTTP/1.1" or "HTTP/1.0"
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed
  std::string remote_ip;
  bool tls = false;

  // The first header named `name` (any case), or nullptr.
  const std::string* Header(std::string_view name) const;
  // The client asked to close after this exchange (HTTP/1.0 without
  // keep-alive, or a "close" connection option).
  bool WantsClose() const;
};

struct HttpReply {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // beyond the fixed ones

  static HttpReply Text(int status, std::string body);
};

// Reads the request line and headers of a head that report::CheckHead passed.
// nullopt: the request line is not "METHOD SP /target SP HTTP/1.x" (400).
std::optional<HttpRequest> ParseRequest(std::string_view head);

// The whole response: status line, Content-Type, Content-Length, Connection,
// `fixed_headers` ("Name: value\r\n" lines sent with every response), the
// reply's own headers, then the body unless `head_only`.
std::string SerializeReply(const HttpReply& reply, bool head_only, bool close,
                           std::string_view fixed_headers);

// "OK", "Not Found", ...; "Unknown" for a code this server never sends.
const char* ReasonPhrase(int status);

}  // namespace gpuhost::report
