#include "report/handshake_gate.h"

#include <algorithm>

namespace gpuhost::report {

HandshakeGate::HandshakeGate(int limit) : limit_(std::max(limit, 1)), share_((limit_ + 1) / 2) {}

bool HandshakeGate::MayTake(const std::string& ip) const {
  if (in_flight() >= limit_) return false;
  auto it = per_address_.find(ip);
  return it == per_address_.end() || it->second < share_;
}

void HandshakeGate::Take(const std::string& ip) {
  ++per_address_[ip];
  int now = in_flight_.fetch_add(1, std::memory_order_relaxed) + 1;
  if (now > peak()) peak_.store(now, std::memory_order_relaxed);
}

bool HandshakeGate::TryTake(const std::string& ip) {
  if (!MayTake(ip)) return false;
  Take(ip);
  return true;
}

void HandshakeGate::Give(const std::string& ip) {
  auto it = per_address_.find(ip);
  if (it == per_address_.end()) return;  // not taken: nothing to give
  if (--it->second <= 0) per_address_.erase(it);
  in_flight_.fetch_sub(1, std::memory_order_relaxed);
  changed_ = true;
}

void HandshakeGate::Wait(int fd, std::string ip) {
  queue_.push_back({fd, std::move(ip)});
  waiting_.fetch_add(1, std::memory_order_relaxed);
  changed_ = true;
}

bool HandshakeGate::Remove(int fd) {
  auto it =
      std::find_if(queue_.begin(), queue_.end(), [fd](const Waiter& w) { return w.fd == fd; });
  if (it == queue_.end()) return false;
  queue_.erase(it);
  waiting_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

// A scan of the queue (at most the loop's connections), and only after a
// slot was given back or a connection queued: the loop asks every round,
// and an address holding its share with hundreds waiting behind it must not
// cost a walk of them all each time.
std::optional<HandshakeGate::Waiter> HandshakeGate::Next() {
  if (!changed_ || in_flight() >= limit_) return std::nullopt;
  auto it =
      std::find_if(queue_.begin(), queue_.end(), [this](const Waiter& w) { return MayTake(w.ip); });
  if (it == queue_.end()) {
    changed_ = false;
    return std::nullopt;
  }
  Waiter next = std::move(*it);
  queue_.erase(it);
  waiting_.fetch_sub(1, std::memory_order_relaxed);
  Take(next.ip);
  return next;
}

}  // namespace gpuhost::report
