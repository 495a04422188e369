// The one root-relative view of the machine's files (after LevelDB's Env).
// Every read or write of /sys, /proc, /etc, /lib/modules goes through an Fs,
// so the same code runs on "/", on a captured fixture tree, or on an image
// tree being built. Paths are absolute *inside* the root: "/sys/bus/pci".
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/jail.h"
#include "base/status.h"

namespace gpuhost {

class Fs {
 public:
  virtual ~Fs() = default;

  // Contents of a regular or virtual file. NotFound when absent.
  virtual Result<std::string> Read(const std::string& path) const = 0;
  // Raw target of a symbolic link (not resolved). NotFound when absent,
  // Invalid when `path` is not a link.
  virtual Result<std::string> ReadLink(const std::string& path) const = 0;
  // Entry names of a directory, sorted, without "." and "..".
  virtual Result<std::vector<std::string>> List(const std::string& dir) const = 0;
  virtual bool Exists(const std::string& path) const = 0;
  virtual bool IsDir(const std::string& path) const = 0;
  // Atomic replace (temp file, fsync, rename); no-op when unchanged.
  virtual Status WriteAtomic(const std::string& path, std::string_view data,
                             unsigned mode = 0644) = 0;
  // One write() to a sysfs/procfs attribute.
  virtual Status WriteAttribute(const std::string& path, std::string_view value,
                                bool skip_if_same) = 0;
  // Creates (or replaces) a symbolic link at `path` pointing to `target`,
  // creating missing parent directories. Used to build fixture trees.
  virtual Status Symlink(const std::string& target, const std::string& path) = 0;
  // The path as the OS sees it, for libraries that open files themselves
  // (libpci's sysfs.path, libkmod's module directory). Unlike every method
  // above, what is opened by this path is not confined to the root: its
  // links resolve on the host. Read through the Fs whatever may be a link.
  virtual std::string HostPath(const std::string& path) const = 0;
  // The root this Fs maps "/" to ("/" on a live machine).
  virtual const std::string& root() const = 0;
};

// The real file system under `root`, as a jail: every open, stat, readlink,
// readdir, mkdir, rename and write resolves its path inside `root` the way
// chroot(2) would (base/jail.h), so a link in a tree -- "etc/modprobe.d ->
// /etc/modprobe.d", "../../.." -- never reaches the host's files. A root
// that cannot be confined (no openat2) fails every call with the reason.
class RootFs : public Fs {
 public:
  // Attribute writes get `write_timeout_ms` each (see
  // WriteVirtualFileWithDeadline); 0 writes in-process without a deadline.
  explicit RootFs(std::string root, int write_timeout_ms = 10000);
  RootFs(const RootFs&) = delete;
  RootFs& operator=(const RootFs&) = delete;

  Result<std::string> Read(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;
  Result<std::vector<std::string>> List(const std::string& dir) const override;
  bool Exists(const std::string& path) const override;
  bool IsDir(const std::string& path) const override;
  Status WriteAtomic(const std::string& path, std::string_view data, unsigned mode) override;
  Status WriteAttribute(const std::string& path, std::string_view value,
                        bool skip_if_same) override;
  Status Symlink(const std::string& target, const std::string& path) override;
  std::string HostPath(const std::string& path) const override;
  const std::string& root() const override { return root_; }

 private:
  int write_timeout_ms_;
  std::string root_;  // no trailing slash; "" for "/"
  Jail jail_;
};

}  // namespace gpuhost
