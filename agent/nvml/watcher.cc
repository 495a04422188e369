#include "nvml/watcher.h"

#include "base/clock.h"

namespace gpuhost::nvml {
namespace {

using Gpus = std::vector<inventory::PciAddress>;

BackgroundReading<Gpus, Reading>::Read ReadWith(Watcher::Options& o) {
  auto read = o.read ? std::move(o.read) : [](const Gpus& g) { return Read(g); };
  return [read = std::move(read)](
             const Gpus& gpus,
             std::shared_ptr<const Reading> previous) -> std::shared_ptr<const Reading> {
    auto r = std::make_shared<Reading>();
    r->report = read(gpus);
    r->asked = gpus;
    r->at = NowRfc3339Utc();
    r->version = previous ? previous->version + 1 : 1;
    return r;
  };
}

}  // namespace

Watcher::Watcher(Options options) : max_age_(options.max_age), reading_(ReadWith(options)) {}

std::shared_ptr<const Reading> Watcher::Latest(const Gpus& gpus) {
  if (gpus.empty()) return nullptr;
  return reading_.Latest(gpus, max_age_);
}

std::shared_ptr<const Reading> Watcher::WaitFresh(const Gpus& gpus,
                                                  std::chrono::milliseconds timeout) {
  if (gpus.empty()) return nullptr;
  return reading_.WaitFresh(gpus, timeout);
}

}  // namespace gpuhost::nvml
