// Who may read the status server beyond /healthz: the bearer token, and the
// rule that only loopback may be served without TLS and a token.
#pragma once

#include <array>
#include <string>

#include "base/status.h"

namespace gpuhost::report {

class BearerToken {
 public:
  // Reads the token from `path`: one line of 16 to 4096 visible ASCII
  // characters (no spaces), a trailing newline allowed. Fails naming the file.
  static Result<BearerToken> Load(const std::string& path);
  // Builds one from the text itself (tests).
  static Result<BearerToken> FromText(const std::string& text, const std::string& where);

  // True when `authorization` (the header's value, nullptr if absent) is
  // "Bearer <token>". The comparison takes the same time wherever the two
  // differ: both sides are hashed and the digests compared in constant time.
  bool Accepts(const std::string* authorization) const;

 private:
  explicit BearerToken(std::array<unsigned char, 32> digest) : digest_(digest) {}
  std::array<unsigned char, 32> digest_;  // SHA-256 of the token
};

// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: addresses no other machine can
// reach. `host` is an IP literal without brackets; false for anything else.
bool IsLoopbackAddress(const std::string& host);

}  // namespace gpuhost::report
