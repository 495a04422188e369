#include "report/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>

namespace gpuhost::testing {

int ConnectLoopback(int port) { return ConnectLoopbackFrom(port, "127.0.0.1"); }

int ConnectLoopbackFrom(int port, const std::string& source_ip) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  if (inet_pton(AF_INET, source_ip.c_str(), &from.sin_addr) != 1 ||
      bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    close(fd);
    return -1;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

HttpResponse ReadResponse(int fd, bool head_request) {
  return ReadResponseFrom([fd](char* buf, size_t n) { return recv(fd, buf, n, 0); }, head_request);
}

HttpResponse ReadResponseFrom(const std::function<ssize_t(char*, size_t)>& read,
                              bool head_request) {
  // Byte by byte up to the end of the head and then exactly the body, so
  // that pipelined responses stay in the socket for the next call.
  HttpResponse r;
  while (r.raw.size() < 4 || r.raw.compare(r.raw.size() - 4, 4, "\r\n\r\n") != 0) {
    char c;
    if (read(&c, 1) != 1) return r;  // status 0: incomplete
    r.raw += c;
  }
  std::string head = r.raw.substr(0, r.raw.size() - 4);
  size_t pos = head.find("\r\n");
  while (pos != std::string::npos) {
    size_t next = head.find("\r\n", pos + 2);
    std::string line =
        head.substr(pos + 2, next == std::string::npos ? std::string::npos : next - pos - 2);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      size_t v = line.find_first_not_of(' ', colon + 1);
      r.headers[name] = v == std::string::npos ? "" : line.substr(v);
    }
    pos = next;
  }
  size_t len = 0;
  if (!head_request && r.headers.count("content-length")) {
    len = std::stoul(r.headers["content-length"]);
  }
  std::string body(len, '\0');
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(body.data() + got, len - got);
    if (n <= 0) return r;
    got += static_cast<size_t>(n);
  }
  r.body = body;
  r.raw += body;
  if (head.size() >= 12) r.status = std::atoi(head.substr(9, 3).c_str());
  return r;
}

bool ClosedWithin(int fd, int ms) {
  auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  char buf[4096];
  while (std::chrono::steady_clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return true;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return true;  // reset counts too
  }
  return false;
}

HttpResponse Exchange(int port, const std::string& request, bool head_request) {
  int fd = ConnectLoopback(port);
  if (fd < 0) return {};
  HttpResponse r;
  if (SendAll(fd, request)) r = ReadResponse(fd, head_request);
  close(fd);
  return r;
}

HttpResponse Get(int port, const std::string& path) {
  return Exchange(port,
                  "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

}  // namespace gpuhost::testing
