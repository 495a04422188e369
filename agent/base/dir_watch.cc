#include "base/dir_watch.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>

namespace gpuhost {
namespace {

// Every way a file in the directory can change (in place, replaced by a
// rename, created, removed, its mode or times), and the directory itself
// going away. IN_ONLYDIR: a path that is not a directory is never "watched".
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE |
                           IN_MOVED_FROM | IN_MOVED_TO | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

// After these the watch no longer sees the directory its path names.
constexpr uint32_t kLost = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

}  // namespace

DirWatch::DirWatch(std::vector<std::string> dirs)
    : dirs_(std::move(dirs)), wds_(dirs_.size(), -1), fd_(inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  AddMissingWatches();
}

bool DirWatch::AddMissingWatches() {
  if (fd_.get() < 0) return false;
  bool all = true;
  for (size_t i = 0; i < dirs_.size(); ++i) {
    if (wds_[i] >= 0) continue;
    wds_[i] = inotify_add_watch(fd_.get(), dirs_[i].c_str(), kMask);
    if (wds_[i] < 0) all = false;
  }
  return all;
}

bool DirWatch::watching_all() const {
  return fd_.get() >= 0 && std::all_of(wds_.begin(), wds_.end(), [](int wd) { return wd >= 0; });
}

bool DirWatch::MaybeChanged() {
  if (fd_.get() < 0) return true;
  bool changed = !asked_;
  asked_ = true;
  alignas(struct inotify_event) char buf[4096];
  for (;;) {
    ssize_t n = read(fd_.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    if (n <= 0) return true;  // an error, or an end that inotify never gives: cannot tell
    changed = true;
    for (ssize_t off = 0; off + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
      if (ev->mask & kLost) {
        // A directory moved away keeps its watch: drop it, then watch the path again.
        inotify_rm_watch(fd_.get(), ev->wd);
        std::replace(wds_.begin(), wds_.end(), ev->wd, -1);
      }
      off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
    }
  }
  // A directory that was not watched until now may have changed meanwhile.
  if (!watching_all()) {
    AddMissingWatches();
    return true;
  }
  return changed;
}

}  // namespace gpuhost
