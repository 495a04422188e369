#include "nvml/watcher.h"

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

namespace gpuhost::nvml {
namespace {

using Clock = std::chrono::steady_clock;
using Gpus = std::vector<inventory::PciAddress>;

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace

struct Watcher::Shared {
  explicit Shared(Options o) : options(std::move(o)) {
    if (!options.read) options.read = [](const Gpus& g) { return Read(g); };
  }
  Options options;
  std::mutex mu;
  std::condition_variable wake;  // to the reading thread: stop or read
  std::condition_variable done;  // from it: a reading landed
  bool stop = false;
  bool wanted = false;  // a reading is asked for
  bool busy = false;    // one is under way
  Gpus want_gpus;       // what the next reading is for
  uint64_t finished = 0;
  std::shared_ptr<const Reading> latest;
  Clock::time_point latest_at;
};

namespace {

void ReadLoop(const std::shared_ptr<Watcher::Shared>& s) {
  std::unique_lock<std::mutex> lock(s->mu);
  for (;;) {
    s->wake.wait(lock, [&] { return s->stop || s->wanted; });
    if (s->stop) return;
    s->wanted = false;
    s->busy = true;
    Gpus gpus = s->want_gpus;
    lock.unlock();
    Report rep = s->options.read(gpus);
    lock.lock();
    s->busy = false;
    ++s->finished;
    s->latest_at = Clock::now();
    auto r = std::make_shared<Reading>();
    r->asked = std::move(gpus);
    r->report = std::move(rep);
    r->at = NowUtc();
    r->version = s->latest ? s->latest->version + 1 : 1;
    s->latest = std::move(r);
    s->done.notify_all();
  }
}

}  // namespace

Watcher::Watcher(Options options) : shared_(std::make_shared<Shared>(std::move(options))) {
  // Detached, holding its own reference: destroying the Watcher must not
  // wait for an NVML call that may never return.
  std::thread([s = shared_] { ReadLoop(s); }).detach();
}

Watcher::~Watcher() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->stop = true;
  shared_->wake.notify_all();
}

std::shared_ptr<const Reading> Watcher::Latest(const Gpus& gpus) {
  if (gpus.empty()) return nullptr;
  Shared& s = *shared_;
  std::lock_guard<std::mutex> lock(s.mu);
  bool same = s.latest && s.latest->asked == gpus;
  bool stale = !same || Clock::now() - s.latest_at > s.options.max_age;
  if (stale && !s.busy && !s.wanted) {
    s.want_gpus = gpus;
    s.wanted = true;
    s.wake.notify_all();
  }
  return same ? s.latest : nullptr;
}

std::shared_ptr<const Reading> Watcher::WaitFresh(const Gpus& gpus,
                                                  std::chrono::milliseconds timeout) {
  if (gpus.empty()) return nullptr;
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mu);
  // A reading under way may have started before this call: wait for the next.
  uint64_t target = s.finished + (s.busy ? 2 : 1);
  s.want_gpus = gpus;
  s.wanted = true;
  s.wake.notify_all();
  if (!s.done.wait_for(lock, timeout, [&] { return s.finished >= target; })) return nullptr;
  return s.latest && s.latest->asked == gpus ? s.latest : nullptr;
}

}  // namespace gpuhost::nvml
