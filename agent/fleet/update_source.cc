#include "fleet/update_source.h"

#include "base/strings.h"

namespace gpuhost::fleet {
namespace {

bool SafeUrlChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '"' && c != '\'' && c != '\\';
}

}  // namespace

Result<std::string> CheckUpdateUrl(std::string_view url) {
  std::string_view rest;
  if (StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else {
    return Status::Invalid("update URL must start with https:// or http://");
  }
  if (rest.empty() || rest.front() == '/') return Status::Invalid("update URL names no host");
  if (url.size() > 2048) return Status::Invalid("update URL is longer than 2048 characters");
  for (char c : url) {
    if (!SafeUrlChar(c)) {
      return Status::Invalid("update URL has a space, quote, backslash or control character");
    }
  }
  std::string out(url);
  if (out.back() != '/') out += '/';
  return out;
}

Result<int> CheckUpdateTries(std::string_view text) {
  auto n = ParseInt(Trim(text));
  if (!n || *n < 1 || *n > 9) return Status::Invalid("update tries must be a number 1..9");
  return static_cast<int>(*n);
}

}  // namespace gpuhost::fleet
