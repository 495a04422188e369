// The HTTP request-head check (report/http_head.cc) and the request parser
// behind it (report/http_message.cc): bytes from anyone who reaches the listen
// address. Besides not crashing: an accepted head keeps its CRLF framing and
// never grows, a refused one is 400 or 431, a parsed request has a path.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "base/strings.h"
#include "report/http_head.h"
#include "report/http_message.h"
#include "report/http_server.h"

using namespace gpuhost;

namespace {

[[noreturn]] void Broken(const char* what) {
  std::fprintf(stderr, "CheckHead: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  report::HttpLimits limits;
  limits.max_headers = 8;  // small, so the fuzzer reaches the 431 path
  report::HeadCheck c = report::CheckHead(in, limits);
  if (c.status != 0) {
    if (c.status != 400 && c.status != 431) Broken("refused with a status other than 400/431");
    if (!c.head.empty()) Broken("a refused head kept text");
  } else {
    if (c.head.size() > in.size()) Broken("the head grew");
    if (!c.head.empty() &&
        !StartsWith(std::string_view(c.head).substr(c.head.size() - 2), "\r\n")) {
      Broken("the head lost its CRLF framing");
    }
    if (!StartsWith(in, c.head.substr(0, c.head.find("\r\n")))) Broken("the request line changed");
    // What passed is read by the router's parser: a request it returns has
    // an origin-form path and one of the two versions.
    if (auto req = report::ParseRequest(c.head)) {
      if (!StartsWith(req->path, "/")) Broken("a parsed path does not start with /");
      if (req->version != "HTTP/1.1" && req->version != "HTTP/1.0") Broken("odd version parsed");
      std::string out =
          report::SerializeReply(report::HttpReply::Text(200, "x"), false, req->WantsClose(), "");
      if (!StartsWith(out, "HTTP/1.1 200 OK\r\n")) Broken("a reply without its status line");
    }
  }
  return 0;
}
