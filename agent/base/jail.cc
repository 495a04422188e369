#include "base/jail.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "base/strings.h"

namespace gpuhost {
namespace {

// glibc 2.36 has no openat2() wrapper.
int OpenAt2(int dirfd, const char* path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<unsigned long long>(flags);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) != 0 ? mode : 0;
  // IN_ROOT: "/" and ".." stop at dirfd. Magic links (/proc/PID/root) would
  // jump anywhere: never followed (IN_ROOT implies it today, not forever).
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0;; ++attempt) {
    int fd = static_cast<int>(::syscall(SYS_openat2, dirfd, path, &how, sizeof how));
    // EAGAIN: a rename raced with ".." resolution; the kernel asks to retry.
    if (fd >= 0 || errno != EAGAIN || attempt == 16) return fd;
  }
}

}  // namespace

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  std::string p = path;
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {"/", p};
  return {slash == 0 ? "/" : p.substr(0, slash), p.substr(slash + 1)};
}

Jail::Jail(const std::string& root) : root_(root.empty() ? "/" : root) {
  bool live = root_.find_first_not_of('/') == std::string::npos;
  int fd = ::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    broken_ = Status::FromErrno("open root " + root_, errno);
    return;
  }
  fd_ = UniqueFd(fd);
  int probe = OpenAt2(fd_.get(), "/", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
  if (probe >= 0) {
    ::close(probe);
    return;
  }
  int err = errno;
  if (live && (err == ENOSYS || err == EPERM)) {
    plain_ = true;  // "/" has nothing above it to escape to
    return;
  }
  broken_ = Status::Unsupported(
      "cannot confine paths to " + root_ + ": openat2(2) RESOLVE_IN_ROOT failed (" +
      Status::FromErrno("openat2", err).message() +
      "; needs Linux >= 5.6); refusing to read or write the tree unconfined, where its "
      "symbolic links could reach the host's files");
}

Result<UniqueFd> Jail::Open(const std::string& path, int flags, mode_t mode) const {
  if (!broken_.ok()) return broken_;
  const std::string p = path.empty() ? "/" : path;
  int fd = plain_ ? ::open(p.c_str(), flags | O_CLOEXEC, mode)
                  : OpenAt2(fd_.get(), p.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return Status::FromErrno("open " + p, errno);
  return UniqueFd(fd);
}

Result<UniqueFd> Jail::MakeDirs(const std::string& dir) const {
  auto d = Open(dir, O_RDONLY | O_DIRECTORY);
  if (d.ok() || !d.status().IsNotFound()) return d;
  if (auto self = Open(dir, O_PATH | O_NOFOLLOW); self.ok()) {
    struct stat st;
    if (::fstat(self->get(), &st) == 0 && S_ISLNK(st.st_mode)) {
      return Status::NotFound(dir + " is a symbolic link whose target is missing inside " + root_);
    }
    return Status::Invalid(dir + " is not a directory");
  }
  auto [parent, name] = SplitParent(dir);
  if (name.empty() || name == "." || name == "..") return d;
  auto pfd = MakeDirs(parent);
  if (!pfd.ok()) return pfd;
  // One plain name relative to a descriptor already inside the root: no
  // link is followed by mkdirat's last component.
  if (::mkdirat(pfd->get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir " + dir, errno);
  }
  auto again = Open(dir, O_RDONLY | O_DIRECTORY);
  if (!again.ok() && again.status().IsNotFound()) {
    return Status::NotFound(dir + " is a symbolic link whose target is missing inside " + root_);
  }
  return again;
}

bool Jail::Exists(const std::string& path) const { return Open(path, O_PATH | O_NOFOLLOW).ok(); }

}  // namespace gpuhost
