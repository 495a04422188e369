#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fileio.h"
#include "base/strings.h"
#include "host/fs.h"

namespace gpuhost {
namespace {

std::string Trimmed(std::string root) {
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root;
}

}  // namespace

// Messages name the root-relative path: the root is said once, elsewhere
// ("source" in the inventory), and messages stay the same on every root.
RootFs::RootFs(std::string root, int write_timeout_ms)
    : write_timeout_ms_(write_timeout_ms),
      root_(Trimmed(std::move(root))),
      jail_(root_.empty() ? "/" : root_) {}

std::string RootFs::HostPath(const std::string& path) const {
  if (path.empty() || path[0] != '/') return root_ + "/" + path;
  return root_ + path;
}

Result<std::string> RootFs::Read(const std::string& path) const {
  auto fd = jail_.Open(path, O_RDONLY | O_NOCTTY);
  if (!fd.ok()) return fd.status();
  return ReadFd(fd->get(), path);
}

Result<std::string> RootFs::ReadLink(const std::string& path) const {
  auto [parent, name] = SplitParent(path);
  if (name.empty()) return Status::Invalid("readlink " + path + ": not a link");
  auto dir = jail_.Open(parent, O_PATH | O_DIRECTORY);
  if (!dir.ok())
    return Status::FromCode(dir.status().code(),
                            "readlink " + path + ": " + dir.status().message());
  std::string buf(4096, '\0');
  ssize_t n = ::readlinkat(dir->get(), name.c_str(), buf.data(), buf.size());
  if (n < 0) return Status::FromErrno("readlink " + path, errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<std::vector<std::string>> RootFs::List(const std::string& dir) const {
  auto fd = jail_.Open(dir, O_RDONLY | O_DIRECTORY);
  if (!fd.ok()) return Status::FromCode(fd.status().code(), "opendir " + fd.status().message());
  DIR* d = ::fdopendir(fd->get());
  if (d == nullptr) return Status::FromErrno("opendir " + dir, errno);
  fd->release();  // closedir closes it
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool RootFs::Exists(const std::string& path) const { return jail_.Exists(path); }

bool RootFs::IsDir(const std::string& path) const {
  auto fd = jail_.Open(path, O_PATH);
  struct stat st;
  return fd.ok() && ::fstat(fd->get(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status RootFs::WriteAtomic(const std::string& path, std::string_view data, unsigned mode) {
  auto [parent, name] = SplitParent(path);
  if (name.empty() || name == "." || name == "..") return Status::Invalid("write " + path);
  auto dir = jail_.MakeDirs(parent);
  if (!dir.ok()) return dir.status();
  return WriteFileAtomicIn(dir->get(), name, data, static_cast<mode_t>(mode), path);
}

Status RootFs::WriteAttribute(const std::string& path, std::string_view value, bool skip_if_same) {
  if (skip_if_same) {
    auto fd = jail_.Open(path, O_RDONLY | O_NOCTTY);
    if (fd.ok()) {
      if (auto old = ReadFd(fd->get(), path, 1 << 16); old.ok() && Trim(*old) == Trim(value)) {
        return Status::Ok();
      }
    }
  }
  const Jail& jail = jail_;
  OpenForWrite open = [&jail, path]() { return jail.Open(path, O_WRONLY | O_NOCTTY); };
  if (write_timeout_ms_ <= 0) return WriteVirtualFileVia(open, value, path);
  return WriteVirtualFileViaWithDeadline(open, value, path, write_timeout_ms_);
}

Status RootFs::Symlink(const std::string& target, const std::string& path) {
  auto [parent, name] = SplitParent(path);
  if (name.empty() || name == "." || name == "..") return Status::Invalid("symlink " + path);
  auto dir = jail_.MakeDirs(parent);
  if (!dir.ok()) return dir.status();
  if (auto old = ReadLink(path); old.ok() && *old == target) return Status::Ok();
  std::string tmp = name + ".gpuhost-tmp";
  ::unlinkat(dir->get(), tmp.c_str(), 0);
  if (::symlinkat(target.c_str(), dir->get(), tmp.c_str()) != 0)
    return Status::FromErrno("symlink " + path + ".gpuhost-tmp", errno);
  if (::renameat(dir->get(), tmp.c_str(), dir->get(), name.c_str()) != 0) {
    Status s = Status::FromErrno("rename " + path + ".gpuhost-tmp to " + path, errno);
    ::unlinkat(dir->get(), tmp.c_str(), 0);
    return s;
  }
  return Status::Ok();
}

}  // namespace gpuhost
