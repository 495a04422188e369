// A value read on a thread of its own, for request handlers that must never
// wait on a slow source (a hung libvirtd, nvmlInit on a GPU without
// persistence mode). Requests get the newest reading at once; one that is
// missing, for another request, or older than max_age starts a new one in the
// background when none is under way. The reading thread is detached and holds
// its own reference, so destroying the reader never waits for a read that may
// never return: that thread is left behind and ends with the process.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>

namespace gpuhost {

template <typename Request, typename Value>
class BackgroundReading {
 public:
  // Runs on the reading thread. Gets what it is asked for and the reading
  // published before (null at first; immutable, so safe to look at) and
  // returns what to publish: the previous one again when nothing changed.
  using Read = std::function<std::shared_ptr<const Value>(const Request&,
                                                          std::shared_ptr<const Value> previous)>;

  explicit BackgroundReading(Read read) : shared_(std::make_shared<Shared>(std::move(read))) {
    std::thread([s = shared_] { Loop(s); }).detach();
  }
  ~BackgroundReading() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->stop = true;
    shared_->wake.notify_all();
  }
  BackgroundReading(const BackgroundReading&) = delete;
  BackgroundReading& operator=(const BackgroundReading&) = delete;

  // The newest reading taken for `request` (null when there is none yet).
  // Never blocks on a read.
  std::shared_ptr<const Value> Latest(const Request& request, std::chrono::milliseconds max_age) {
    Shared& s = *shared_;
    std::lock_guard<std::mutex> lock(s.mu);
    bool same = s.latest && s.latest_request == request;
    bool stale = !same || Clock::now() - s.latest_at > max_age;
    if (stale && !s.busy && !s.wanted) Ask(s, request);
    return same ? s.latest : nullptr;
  }

  // For tests: waits up to `timeout` for a reading of `request` taken after
  // this call; null on timeout.
  std::shared_ptr<const Value> WaitFresh(const Request& request,
                                         std::chrono::milliseconds timeout) {
    Shared& s = *shared_;
    std::unique_lock<std::mutex> lock(s.mu);
    // A read under way may have started before this call: wait for the next.
    uint64_t target = s.finished + (s.busy ? 2 : 1);
    Ask(s, request);
    if (!s.done.wait_for(lock, timeout, [&] { return s.finished >= target; })) return nullptr;
    return s.latest && s.latest_request == request ? s.latest : nullptr;
  }

 private:
  using Clock = std::chrono::steady_clock;

  struct Shared {
    explicit Shared(Read r) : read(std::move(r)) {}
    const Read read;
    std::mutex mu;
    std::condition_variable wake;  // to the reading thread: stop or read
    std::condition_variable done;  // from it: a reading landed
    bool stop = false;
    bool wanted = false;  // a read is asked for
    bool busy = false;    // one is under way
    Request wanted_request{};
    uint64_t finished = 0;
    std::shared_ptr<const Value> latest;
    Request latest_request{};
    Clock::time_point latest_at;
  };

  static void Ask(Shared& s, const Request& request) {
    s.wanted_request = request;
    s.wanted = true;
    s.wake.notify_all();
  }

  static void Loop(const std::shared_ptr<Shared>& s) {
    std::unique_lock<std::mutex> lock(s->mu);
    for (;;) {
      s->wake.wait(lock, [&] { return s->stop || s->wanted; });
      if (s->stop) return;
      s->wanted = false;
      s->busy = true;
      Request request = s->wanted_request;
      std::shared_ptr<const Value> previous = s->latest;
      lock.unlock();
      std::shared_ptr<const Value> value = s->read(request, std::move(previous));
      lock.lock();
      s->busy = false;
      ++s->finished;
      s->latest = std::move(value);
      s->latest_request = std::move(request);
      s->latest_at = Clock::now();
      s->done.notify_all();
    }
  }

  std::shared_ptr<Shared> shared_;
};

}  // namespace gpuhost
