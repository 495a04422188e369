#include "report/http_head.h"

#include <algorithm>
#include <cctype>

#include "base/strings.h"
#include "report/http_server.h"

namespace gpuhost::report {
// RFC 9110 5.6.2 tchar.
bool IsTokenChar(char ch) {
  return std::isalnum(static_cast<unsigned char>(ch)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
}

HeadCheck CheckHead(std::string_view head, const HttpLimits& limits) {
  HeadCheck c;
  size_t headers = 0;
  int hosts = 0;
  size_t pos = 0;
  c.head.reserve(head.size());
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string_view::npos) return {400, false, {}};
    std::string_view line = head.substr(pos, eol - pos);
    for (char ch : line) {
      auto u = static_cast<unsigned char>(ch);
      if ((u < 0x20 && ch != '\t') || u == 0x7f) return {400, false, {}};  // bare CR/LF, NUL
    }
    bool keep = true;
    if (pos > 0 && !line.empty()) {
      if (++headers > limits.max_headers) return {431, false, {}};
      size_t colon = line.find(':');
      if (colon == std::string_view::npos || colon == 0) return {400, false, {}};
      std::string_view name = line.substr(0, colon);
      // A field name is a token: no "Host : x", no obs-fold continuation
      // lines; parsers that disagree on those are how requests get smuggled.
      if (!std::all_of(name.begin(), name.end(), IsTokenChar)) return {400, false, {}};
      std::string_view value = Trim(line.substr(colon + 1));
      if (EqualsIgnoreCase(name, "Content-Length")) c.has_body |= value != "0";
      if (EqualsIgnoreCase(name, "Transfer-Encoding")) c.has_body = true;
      if (EqualsIgnoreCase(name, "Host") && ++hosts > 1) return {400, false, {}};
      // Ranges of our small bodies buy nothing and let one request ask for
      // the page a thousand times over (multipart/byteranges).
      keep = !EqualsIgnoreCase(name, "Range") && !EqualsIgnoreCase(name, "If-Range");
    }
    if (keep) c.head.append(head.substr(pos, eol + 2 - pos));
    pos = eol + 2;
  }
  return c;
}

}  // namespace gpuhost::report
