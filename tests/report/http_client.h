// A deliberately small HTTP/1.1 client over a plain socket, for tests that
// must send bytes no real client would (huge heads, garbage, drips).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <string>

namespace gpuhost::testing {

struct HttpResponse {
  int status = 0;                              // 0: no (complete) response
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  std::string raw;  // everything read
};

// A blocking loopback connection with 5 s send/receive timeouts; -1 on failure.
int ConnectLoopback(int port);
// The same from another loopback address (127.0.0.2, ...): a second client
// address for the per-address limits.
int ConnectLoopbackFrom(int port, const std::string& source_ip);
bool SendAll(int fd, const std::string& bytes);
// Reads one response: the head, then Content-Length bytes of body (none
// for HEAD). Returns status 0 if the connection closed or timed out first.
HttpResponse ReadResponse(int fd, bool head_request = false);
// The same over any byte source (a TLS connection): read(buf, n) is recv()-like.
HttpResponse ReadResponseFrom(const std::function<ssize_t(char*, size_t)>& read,
                              bool head_request = false);
// True when the peer closed the connection within `ms` (reads and discards).
bool ClosedWithin(int fd, int ms);

// Connects, sends `request` verbatim, reads one response, closes.
HttpResponse Exchange(int port, const std::string& request, bool head_request = false);
// GET `path` with Host: 127.0.0.1.
HttpResponse Get(int port, const std::string& path);

}  // namespace gpuhost::testing
