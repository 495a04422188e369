// A directory that every path is resolved inside, as chroot(2) would resolve
// it: "..", absolute symbolic links and relative ones that climb all stay in
// the tree (openat2(2) with RESOLVE_IN_ROOT on a descriptor of the root). A
// --root tree is data from elsewhere (a capture, an image being built): a
// link in it must never make the agent read or write the host's own files.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/status.h"
#include "base/unique_fd.h"

namespace gpuhost {

class Jail {
 public:
  // Opens `root` ("/" or "" for the live system). Never fails by itself: a
  // root that cannot be opened, or a kernel without openat2 (Linux < 5.6)
  // for any root but "/", makes every later call fail with the reason --
  // a tree is never read unconfined. On "/" without openat2, paths are
  // opened as they are (the same files: "/" has nothing above it).
  explicit Jail(const std::string& root);
  Jail(const Jail&) = delete;
  Jail& operator=(const Jail&) = delete;

  // open(2) of `path` (absolute inside the root) resolved inside the root.
  // Errors name the root-relative path.
  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0) const;

  // The directory `dir` opened O_RDONLY|O_DIRECTORY (fsync-able, usable as
  // an *at() base), with missing components created (mode 0755) inside the
  // root. A component that is a link to a missing target is an error, not a
  // reason to create the target.
  Result<UniqueFd> MakeDirs(const std::string& dir) const;

  // lstat(2) succeeds: the path is there, a dangling link included.
  bool Exists(const std::string& path) const;

  // The first error, when the root could not be opened or confined.
  const Status& broken() const { return broken_; }

 private:
  std::string root_;  // as given, for messages
  UniqueFd fd_;       // O_PATH|O_DIRECTORY of the root
  bool plain_ = false;
  Status broken_;
};

// "/a/b/c" -> {"/a/b", "c"}; "/c" -> {"/", "c"}. Trailing slashes ignored.
std::pair<std::string, std::string> SplitParent(const std::string& path);

}  // namespace gpuhost
