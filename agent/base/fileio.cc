#include "base/fileio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/strings.h"

namespace gpuhost {
namespace {

using Fd = UniqueFd;

Status WriteAll(int fd, std::string_view data, const std::string& what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("write " + what, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status MakeParents(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return Status::Ok();
  std::string dir = path.substr(0, slash);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Invalid(dir + " is not a directory");
  }
  Status s = MakeParents(dir);
  if (!s.ok()) return s;
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    return Status::FromErrno("mkdir " + dir, errno);
  }
  return Status::Ok();
}

}  // namespace

Status MakeDirs(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::Ok() : Status::Invalid(dir + " is not a directory");
  }
  return MakeParents(dir + "/x");
}

Result<std::string> ReadFd(int fd, const std::string& what, size_t max_bytes) {
  std::string out;
  char buf[8192];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno("read " + what, errno);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return Status::Invalid(what + ": larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return out;
}

Result<std::string> ReadFileAt(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) return Status::FromErrno("open " + path, errno);
  return ReadFd(fd.get(), path, max_bytes);
}

Status WriteFileAtomicIn(int dirfd, const std::string& name, std::string_view data, mode_t mode,
                         const std::string& what) {
  const std::string tmp = name + ".gpuhost-tmp";
  const std::string tmp_what = what + ".gpuhost-tmp";
  {
    Fd old(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW));
    struct stat st;
    if (old.get() >= 0 && ::fstat(old.get(), &st) == 0 && S_ISREG(st.st_mode) &&
        (st.st_mode & 07777) == mode) {
      if (auto text = ReadFd(old.get(), what); text.ok() && *text == data) {
        // A run killed mid-write may have left its temporary behind.
        ::unlinkat(dirfd, tmp.c_str(), 0);
        return Status::Ok();
      }
    }
  }
  // One fixed temporary name per target: a killed run's leftover is simply
  // truncated by the next run instead of piling up.
  Fd fd(::openat(dirfd, tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (fd.get() < 0) return Status::FromErrno("create " + tmp_what, errno);
  if (::fchmod(fd.get(), mode) != 0) return Status::FromErrno("chmod " + tmp_what, errno);
  Status s = WriteAll(fd.get(), data, tmp_what);
  if (s.ok() && ::fsync(fd.get()) != 0) s = Status::FromErrno("fsync " + tmp_what, errno);
  if (s.ok() && ::close(fd.release()) != 0) s = Status::FromErrno("close " + tmp_what, errno);
  if (s.ok() && ::renameat(dirfd, tmp.c_str(), dirfd, name.c_str()) != 0) {
    s = Status::FromErrno("rename " + tmp_what + " to " + what, errno);
  }
  if (!s.ok()) {
    ::unlinkat(dirfd, tmp.c_str(), 0);
    return s;
  }
  // The rename is durable only once the directory entry is on disk.
  if (::fsync(dirfd) != 0) return Status::FromErrno("fsync directory of " + what, errno);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode) {
  Status s = MakeParents(path);
  if (!s.ok()) return s;
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  Fd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd.get() < 0) return Status::FromErrno("open " + dir, errno);
  return WriteFileAtomicIn(dfd.get(), name, data, mode, path);
}

Status WriteVirtualFileVia(const OpenForWrite& open, std::string_view value,
                           const std::string& what) {
  auto fd = open();
  if (!fd.ok()) return fd.status();
  // sysfs takes one write() per value: a short write is an error, not a
  // reason to write the rest (the kernel would parse the tail on its own).
  ssize_t n;
  do {
    n = ::write(fd->get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Status::FromErrno("write '" + std::string(Trim(value)) + "' to " + what, errno);
  if (static_cast<size_t>(n) != value.size()) {
    return Status::Io("short write to " + what);
  }
  return Status::Ok();
}

namespace {

OpenForWrite OpenPath(const std::string& path) {
  return [path]() -> Result<UniqueFd> {
    Fd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
    if (fd.get() < 0) return Status::FromErrno("open " + path, errno);
    return fd;
  };
}

}  // namespace

Status WriteVirtualFile(const std::string& path, std::string_view value, bool skip_if_same) {
  if (skip_if_same) {
    if (auto old = ReadFileAt(path, 1 << 16); old.ok() && Trim(*old) == Trim(value)) {
      return Status::Ok();
    }
  }
  return WriteVirtualFileVia(OpenPath(path), value, path);
}

Status WriteVirtualFileWithDeadline(const std::string& path, std::string_view value,
                                    bool skip_if_same, int timeout_ms) {
  if (skip_if_same) {
    if (auto old = ReadFileAt(path, 1 << 16); old.ok() && Trim(*old) == Trim(value)) {
      return Status::Ok();
    }
  }
  return WriteVirtualFileViaWithDeadline(OpenPath(path), value, path, timeout_ms);
}

Status WriteVirtualFileViaWithDeadline(const OpenForWrite& open, std::string_view value,
                                       const std::string& what, int timeout_ms) {
  int pipefd[2];
  if (::pipe2(pipefd, O_CLOEXEC) != 0) return Status::FromErrno("pipe", errno);
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(pipefd[0]);
    ::close(pipefd[1]);
    return Status::FromErrno("fork", errno);
  }
  if (pid == 0) {
    ::close(pipefd[0]);
    Status s = WriteVirtualFileVia(open, value, what);
    // The child reports the parent's message text through the pipe.
    std::string msg = s.ok() ? "" : std::to_string(static_cast<int>(s.code())) + " " + s.message();
    ssize_t ignored = ::write(pipefd[1], msg.data(), msg.size());
    (void)ignored;
    ::_exit(0);
  }
  ::close(pipefd[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int st = 0;
  while (true) {
    pid_t r = ::waitpid(pid, &st, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) {
      ::close(pipefd[0]);
      return Status::FromErrno("waitpid", errno);
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ::close(pipefd[0]);
      ::kill(pid, SIGKILL);  // works unless it is stuck in the kernel
      return Status::Timeout("write '" + std::string(Trim(value)) + "' to " + what +
                             " did not return within " + std::to_string(timeout_ms) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::string msg;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) msg.append(buf, static_cast<size_t>(n));
  ::close(pipefd[0]);
  if (msg.empty()) return Status::Ok();
  size_t sp = msg.find(' ');
  int code = std::atoi(msg.substr(0, sp).c_str());
  std::string text = sp == std::string::npos ? msg : msg.substr(sp + 1);
  auto kind = static_cast<Status::Code>(code);
  return Status::FromCode(kind == Status::Code::kOk ? Status::Code::kIo : kind, text);
}

}  // namespace gpuhost
