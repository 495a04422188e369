#include "libvirt/watcher.h"

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "libvirt/virt.h"

namespace gpuhost::virt {
namespace {

using Clock = std::chrono::steady_clock;

std::string NowUtc() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// One reading: a fresh read-only connection each time, so a restarted
// libvirtd is simply picked up again.
inventory::Virtualization ReadLibvirt(const Watcher::Options& o) {
  inventory::Inventory inv;
  inv.virt.libvirt_uri = o.uri;
  if (o.daemon_running && !o.daemon_running()) {
    inv.virt.libvirt_error = "libvirtd (or virtqemud) is not running";
    return inv.virt;
  }
  auto c = Connection::Open(o.uri, /*read_only=*/true);
  if (!c.ok()) {
    inv.virt.libvirt_error = c.status().message();
    return inv.virt;
  }
  (*c)->Describe(&inv);
  return inv.virt;
}

}  // namespace

struct Watcher::Shared {
  explicit Shared(Options o) : options(std::move(o)) {}
  const Options options;
  std::mutex mu;
  std::condition_variable wake;  // to the reading thread: stop or read
  std::condition_variable done;  // from it: a reading landed
  bool stop = false;
  bool wanted = false;  // a reading is asked for
  bool busy = false;    // one is under way
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
    lock.unlock();
    auto virt = ReadLibvirt(s->options);
    lock.lock();
    s->busy = false;
    ++s->finished;
    s->latest_at = Clock::now();
    if (!s->latest || !(s->latest->virt == virt)) {
      auto r = std::make_shared<Reading>();
      r->virt = std::move(virt);
      r->since = NowUtc();
      r->version = s->latest ? s->latest->version + 1 : 1;
      s->latest = std::move(r);
    }
    s->done.notify_all();
  }
}

}  // namespace

Watcher::Watcher(Options options) : shared_(std::make_shared<Shared>(std::move(options))) {
  // Detached, holding its own reference: destroying the Watcher must not
  // wait for a libvirt call that may never return.
  std::thread([s = shared_] { ReadLoop(s); }).detach();
}

Watcher::~Watcher() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->stop = true;
  shared_->wake.notify_all();
}

std::shared_ptr<const Reading> Watcher::Latest() {
  Shared& s = *shared_;
  std::lock_guard<std::mutex> lock(s.mu);
  bool stale = !s.latest || Clock::now() - s.latest_at > s.options.max_age;
  if (stale && !s.busy && !s.wanted) {
    s.wanted = true;
    s.wake.notify_all();
  }
  return s.latest;
}

std::shared_ptr<const Reading> Watcher::WaitFresh(std::chrono::milliseconds timeout) {
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mu);
  // A reading under way may have started before this call: wait for the next.
  uint64_t target = s.finished + (s.busy ? 2 : 1);
  s.wanted = true;
  s.wake.notify_all();
  if (!s.done.wait_for(lock, timeout, [&] { return s.finished >= target; })) return nullptr;
  return s.latest;
}

}  // namespace gpuhost::virt
