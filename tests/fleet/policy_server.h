// tests/fleet/policy_server.py as a child process: a real HTTPS server with
// a throwaway CA, serving a directory the test fills, plus a second server
// whose certificate comes from another CA. Stopped when the object goes.
#pragma once

#include <sys/types.h>

#include <string>

#include "fleet/policy_origin.h"

namespace gpuhost::testing {

class PolicyServer {
 public:
  // Starts it on a new directory under `dir` and waits for "ready".
  // port() is 0 when that failed.
  explicit PolicyServer(const std::string& dir);
  ~PolicyServer();
  PolicyServer(const PolicyServer&) = delete;
  PolicyServer& operator=(const PolicyServer&) = delete;

  int port() const { return port_; }
  int wrong_ca_port() const { return wrong_port_; }
  // "https://127.0.0.1:PORT" of the good server.
  std::string base() const { return "https://127.0.0.1:" + std::to_string(port_); }
  std::string ca_file() const { return dir_ + "/pki/good-ca.crt"; }
  // Writes `text` at `path` ("/nodes/x.json") under the served directory.
  void Put(const std::string& path, const std::string& text) const;
  // The request log: one "PORT PATH" line per request.
  std::string Requests() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
  int wrong_port_ = 0;
};

// The sources a choice passed over, one "SOURCE URL: REASON" line each: the
// fleet tests' failure messages.
inline std::string Reasons(const fleet::PolicyOrigin& o) {
  std::string out;
  for (const auto& s : o.skipped) out += s.source + " " + s.url + ": " + s.reason + "\n";
  return out;
}

}  // namespace gpuhost::testing
