// A call on its own thread that the caller stops waiting for at a deadline.
// For libvirt: its client calls cannot be interrupted, and a wedged daemon
// holds them forever; a child process cannot do them either, since the
// connection lives in this process. The thread is detached and abandoned
// when late, so `fn` must own (by value or shared_ptr) all it touches.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace gpuhost::run {

// fn's value, or nullopt when it did not return within `timeout` (it goes
// on running, abandoned).
template <typename T>
std::optional<T> CallWithDeadline(std::function<T()> fn, std::chrono::milliseconds timeout) {
  struct Shared {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<T> value;
  };
  auto shared = std::make_shared<Shared>();
  std::thread([shared, fn = std::move(fn)]() mutable {
    T v = fn();
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->value = std::move(v);
    shared->cv.notify_all();
  }).detach();
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->cv.wait_for(lock, timeout, [&] { return shared->value.has_value(); });
  return std::move(shared->value);
}

}  // namespace gpuhost::run
