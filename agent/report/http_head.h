// The front end's first, strict reading of a request head: what it refuses
// never reaches the router (report/http_message.h reads what it lets through). Pure functions over
// bytes.
#pragma once

#include <string>
#include <string_view>

namespace gpuhost::report {

struct HttpLimits;

struct HeadCheck {
  int status = 0;         // 0: fine; else the error to answer (400, 431)
  bool has_body = false;  // declares a body we will not read: close afterwards
  std::string head;       // the head without Range and If-Range headers
};

// RFC 9110 tchar: what a method or a header field name is made of.
bool IsTokenChar(char ch);

// `head` is a complete head: request line, header lines, blank line, each
// ending in CRLF. 400 for control characters (bare CR or LF, NUL), a field
// name that is not a token ("Host : x", obs-fold lines) or two Host headers;
// 431 for more than limits.max_headers headers.
HeadCheck CheckHead(std::string_view head, const HttpLimits& limits);

}  // namespace gpuhost::report
