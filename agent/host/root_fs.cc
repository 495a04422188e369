#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/fileio.h"
#include "host/fs.h"

namespace gpuhost {

RootFs::RootFs(std::string root, int write_timeout_ms)
    : root_(std::move(root)), write_timeout_ms_(write_timeout_ms) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string RootFs::HostPath(const std::string& path) const {
  if (path.empty() || path[0] != '/') return root_ + "/" + path;
  return root_ + path;
}

// Errors name the root-relative path: the root is said once, elsewhere
// ("source" in the inventory), and messages stay the same on every root.
Status RootFs::Relative(Status s, const std::string& path) const {
  if (s.ok() || root_.empty()) return s;
  std::string msg = s.message();
  std::string host = HostPath(path);
  for (size_t pos = msg.find(host); pos != std::string::npos; pos = msg.find(host, pos)) {
    msg.replace(pos, host.size(), path);
    pos += path.size();
  }
  return Status::FromCode(s.code(), msg);
}

Result<std::string> RootFs::Read(const std::string& path) const {
  auto r = ReadFileAt(HostPath(path));
  if (!r.ok()) return Relative(r.status(), path);
  return r;
}

Result<std::string> RootFs::ReadLink(const std::string& path) const {
  std::string real = HostPath(path);
  std::string buf(4096, '\0');
  ssize_t n = ::readlink(real.c_str(), buf.data(), buf.size());
  if (n < 0) return Status::FromErrno("readlink " + path, errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

Result<std::vector<std::string>> RootFs::List(const std::string& dir) const {
  std::string real = HostPath(dir);
  DIR* d = ::opendir(real.c_str());
  if (d == nullptr) return Status::FromErrno("opendir " + dir, errno);
  std::vector<std::string> names;
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool RootFs::Exists(const std::string& path) const {
  struct stat st;
  return ::lstat(HostPath(path).c_str(), &st) == 0;
}

bool RootFs::IsDir(const std::string& path) const {
  struct stat st;
  return ::stat(HostPath(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Status RootFs::WriteAtomic(const std::string& path, std::string_view data, unsigned mode) {
  return Relative(WriteFileAtomic(HostPath(path), data, static_cast<mode_t>(mode)), path);
}

Status RootFs::WriteAttribute(const std::string& path, std::string_view value, bool skip_if_same) {
  if (write_timeout_ms_ <= 0) {
    return Relative(WriteVirtualFile(HostPath(path), value, skip_if_same), path);
  }
  return Relative(
      WriteVirtualFileWithDeadline(HostPath(path), value, skip_if_same, write_timeout_ms_), path);
}

Status RootFs::Symlink(const std::string& target, const std::string& path) {
  std::string real = HostPath(path);
  // Parents come from an atomic write of a throwaway file's directory chain.
  size_t slash = real.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    Status s = MakeDirs(real.substr(0, slash));
    if (!s.ok()) return s;
  }
  if (auto old = ReadLink(path); old.ok() && *old == target) return Status::Ok();
  std::string tmp = real + ".gpuhost-tmp";
  ::unlink(tmp.c_str());
  if (::symlink(target.c_str(), tmp.c_str()) != 0)
    return Status::FromErrno("symlink " + tmp, errno);
  if (::rename(tmp.c_str(), real.c_str()) != 0) {
    Status s = Status::FromErrno("rename " + tmp + " to " + real, errno);
    ::unlink(tmp.c_str());
    return s;
  }
  return Status::Ok();
}

}  // namespace gpuhost
