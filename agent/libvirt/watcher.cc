#include "libvirt/watcher.h"

#include "base/clock.h"
#include "libvirt/virt.h"

namespace gpuhost::virt {
namespace {

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

Watcher::Watcher(Options options)
    : max_age_(options.max_age),
      reading_([o = std::move(options)](
                   int, std::shared_ptr<const Reading> previous) -> std::shared_ptr<const Reading> {
        auto virt = ReadLibvirt(o);
        // The same answer keeps its version and "since": the page is only
        // re-rendered when what libvirt says changes.
        if (previous && previous->virt == virt) return previous;
        auto r = std::make_shared<Reading>();
        r->virt = std::move(virt);
        r->since = NowRfc3339Utc();
        r->version = previous ? previous->version + 1 : 1;
        return r;
      }) {}

std::shared_ptr<const Reading> Watcher::Latest() { return reading_.Latest(0, max_age_); }

std::shared_ptr<const Reading> Watcher::WaitFresh(std::chrono::milliseconds timeout) {
  return reading_.WaitFresh(0, timeout);
}

}  // namespace gpuhost::virt
