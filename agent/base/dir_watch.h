// Whether anything in a few directories may have changed since it was last
// asked, for the price of one read() of an inotify descriptor. serve's
// request path asks it instead of stat()ing every file a page is made of:
// four stat()s per request cost ~15% of its requests/s (issue 14).
//
// Why the answer is never stale: the kernel queues an inotify event within
// the system call that changes the directory entry or the file (rename,
// unlink, write, chmod, utimes), so a change that completed before a request
// was sent is in the queue before the request can be read.
#pragma once

#include <string>
#include <vector>

#include "base/unique_fd.h"

namespace gpuhost {

class DirWatch {
 public:
  // Watches each of `dirs` (absolute or relative paths of directories; one
  // that does not exist yet is watched once it does).
  explicit DirWatch(std::vector<std::string> dirs);

  // True when something in a watched directory may have changed since the
  // previous call, and whenever it cannot tell: the first call, inotify
  // unavailable, a directory missing, removed or moved away (it is watched
  // again by its path on the next calls), the event queue overflowed, or a
  // read error. False only when every directory was watched throughout and no
  // event came. Not thread-safe: the caller serialises calls.
  bool MaybeChanged();

  // Whether every directory is watched now (for tests and diagnostics).
  bool watching_all() const;

 private:
  bool AddMissingWatches();  // true when every directory is watched afterwards

  std::vector<std::string> dirs_;
  std::vector<int> wds_;  // per directory; -1: not watched
  UniqueFd fd_;
  bool asked_ = false;
};

}  // namespace gpuhost
