#include "report/http_message.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "report/http_head.h"

namespace gpuhost::report {
namespace {

// True when the comma-separated list `value` holds `option` (any case).
bool HasOption(std::string_view value, std::string_view option) {
  for (const auto& part : Split(value, ',')) {
    if (EqualsIgnoreCase(Trim(part), option)) return true;
  }
  return false;
}

}  // namespace

const std::string* HttpRequest::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (EqualsIgnoreCase(k, name)) return &v;
  }
  return nullptr;
}

bool HttpRequest::WantsClose() const {
  const std::string* conn = Header("Connection");
  if (conn && HasOption(*conn, "close")) return true;
  if (version == "HTTP/1.0") return !(conn && HasOption(*conn, "keep-alive"));
  return false;
}

HttpReply HttpReply::Text(int status, std::string body) {
  HttpReply r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

std::optional<HttpRequest> ParseRequest(std::string_view head) {
  size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos) return std::nullopt;
  std::string_view line = head.substr(0, eol);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos || sp1 == 0) return std::nullopt;
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    return std::nullopt;
  }
  HttpRequest req;
  std::string_view method = line.substr(0, sp1);
  if (!std::all_of(method.begin(), method.end(), IsTokenChar)) return std::nullopt;
  req.method = method;
  req.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  req.version = line.substr(sp2 + 1);
  // Origin form only: "*" and absolute URLs are for proxies, not for us.
  if (!StartsWith(req.target, "/")) return std::nullopt;
  if (req.version != "HTTP/1.1" && req.version != "HTTP/1.0") return std::nullopt;
  req.path = req.target.substr(0, req.target.find('?'));
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string_view::npos) return std::nullopt;
    std::string_view h = head.substr(pos, end - pos);
    pos = end + 2;
    if (h.empty()) break;
    size_t colon = h.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    req.headers.emplace_back(std::string(h.substr(0, colon)),
                             std::string(Trim(h.substr(colon + 1))));
  }
  return req;
}

std::string SerializeReply(const HttpReply& reply, bool head_only, bool close,
                           std::string_view fixed_headers) {
  std::string out;
  out.reserve(256 + fixed_headers.size() + (head_only ? 0 : reply.body.size()));
  out += "HTTP/1.1 " + std::to_string(reply.status) + " " + ReasonPhrase(reply.status) + "\r\n";
  out += "Content-Type: " + reply.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(reply.body.size()) + "\r\n";
  out += close ? "Connection: close\r\n" : "Connection: keep-alive\r\n";
  out += fixed_headers;
  for (const auto& [k, v] : reply.headers) out += k + ": " + v + "\r\n";
  out += "\r\n";
  if (!head_only) out += reply.body;
  return out;
}

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 414:
      return "URI Too Long";
    case 421:
      return "Misdirected Request";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

}  // namespace gpuhost::report
