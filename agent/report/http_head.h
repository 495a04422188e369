// The front end's own reading of a request head, stricter than httplib's:
// what it refuses never reaches the router. Pure functions over bytes.
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

// `head` is a complete head: request line, header lines, blank line, each
// ending in CRLF. 400 for control characters (bare CR or LF, NUL), a field
// name that is not a token ("Host : x", obs-fold lines) or two Host headers;
// 431 for more than limits.max_headers headers.
HeadCheck CheckHead(std::string_view head, const HttpLimits& limits);

// "Bad Request" for 400, ... for the statuses the front end writes itself.
const char* ReasonPhrase(int status);

// The code of a response's status line, 0 if there is none.
int StatusOf(std::string_view response);

}  // namespace gpuhost::report
