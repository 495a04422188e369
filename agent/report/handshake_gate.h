// Which TLS handshakes one event loop runs at once. A handshake holds about
// 35 KB inside OpenSSL from the ClientHello until the client's Finished
// (the handshake buffer, the write buffering, the SSL object); wrk's 64
// connections arriving together held 2.3 MB at once, the peak of serve's
// RSS (docs/status-api.md, "Benchmark"). A loop runs at most `limit`
// handshakes; a connection whose ClientHello arrives beyond that waits,
// unread, in this queue until one ends, however it ends.
//
// One address may hold at most half of the slots (rounded up): a client
// that starts handshakes and never finishes them keeps its own connections
// waiting, not everyone else's. Waiting connections start oldest first,
// skipping those whose address holds its share.
//
// Used by its loop's thread only; the counters may be read from any thread.
#pragma once

#include <atomic>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>

namespace gpuhost::report {

class HandshakeGate {
 public:
  // REQUIRES: limit >= 1.
  explicit HandshakeGate(int limit);

  // A slot for a handshake from `ip`, taken; false when the loop runs
  // `limit` already or `ip` holds its share.
  bool TryTake(const std::string& ip);
  // Ends a handshake that held a slot (done, failed, timed out, or closed).
  void Give(const std::string& ip);

  // Queues connection `fd` from `ip`; Next() starts it.
  void Wait(int fd, std::string ip);
  // Drops a waiting connection (closed before its turn). False if not queued.
  bool Remove(int fd);
  struct Waiter {
    int fd;
    std::string ip;
  };
  // The oldest waiting connection that may start now, dequeued with its
  // slot taken (Give(ip) ends it); nothing when none may.
  std::optional<Waiter> Next();

  int limit() const { return limit_; }
  int share() const { return share_; }
  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  int peak() const { return peak_.load(std::memory_order_relaxed); }  // most in flight at once
  int waiting() const { return waiting_.load(std::memory_order_relaxed); }

 private:
  bool MayTake(const std::string& ip) const;
  void Take(const std::string& ip);

  const int limit_;
  const int share_;
  std::unordered_map<std::string, int> per_address_;  // slots held per address
  std::deque<Waiter> queue_;                          // oldest first
  std::atomic<int> in_flight_{0};
  std::atomic<int> peak_{0};
  std::atomic<int> waiting_{0};
  bool changed_ = false;  // a slot given back or a connection queued since Next() found none
};

}  // namespace gpuhost::report
