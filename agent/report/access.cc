#include "report/access.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>

#include "base/fileio.h"
#include "base/strings.h"

namespace gpuhost::report {
namespace {

std::array<unsigned char, 32> Sha256(std::string_view text) {
  std::array<unsigned char, 32> out{};
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), out.data(), &len, EVP_sha256(), nullptr);
  return out;
}

}  // namespace

Result<BearerToken> BearerToken::FromText(const std::string& text, const std::string& where) {
  std::string_view t = text;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.remove_suffix(1);
  if (t.size() < 16) {
    return Status::Invalid("token " + where + ": " + std::to_string(t.size()) +
                           " characters; want at least 16 (e.g. openssl rand -hex 32)");
  }
  if (t.size() > 4096) return Status::Invalid("token " + where + ": longer than 4096 characters");
  bool visible = std::all_of(t.begin(), t.end(), [](char c) { return c > 0x20 && c < 0x7f; });
  if (!visible) {
    return Status::Invalid("token " + where +
                           ": only visible ASCII characters, one line, no spaces");
  }
  return BearerToken(Sha256(t));
}

Result<BearerToken> BearerToken::Load(const std::string& path) {
  auto text = ReadFileAt(path, 8192);
  if (!text.ok()) {
    return Status::FromCode(text.status().code(), "token file: " + text.status().message());
  }
  return FromText(*text, path);
}

bool BearerToken::Accepts(const std::string* authorization) const {
  if (!authorization) return false;
  std::string_view v = *authorization;
  constexpr std::string_view kScheme = "Bearer ";
  if (v.size() < kScheme.size() || !EqualsIgnoreCase(v.substr(0, kScheme.size()), kScheme)) {
    return false;
  }
  auto given = Sha256(Trim(v.substr(kScheme.size())));
  return CRYPTO_memcmp(given.data(), digest_.data(), digest_.size()) == 0;
}

bool IsLoopbackAddress(const std::string& host) {
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) != 1) return false;
  if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
  return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
}

}  // namespace gpuhost::report
