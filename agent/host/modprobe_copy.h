// What libkmod needs from a --root tree, given so that it reads nothing
// outside it. libkmod opens its configuration and module directory by path,
// and on a tree it would follow the tree's links on the host: Debian's
// /etc/modprobe.d/nvidia.conf -> /etc/alternatives/nvidia--nvidia-modprobe.conf
// names a file of the image, not of the machine that checks it.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost {

// The tree's modprobe.d directories (/etc, /usr/lib, /run) read through the
// jailed Fs (links resolve inside the tree, as in the booted image) and
// copied into a private temporary directory, removed on destruction: same
// names in the same three directories, so libkmod's order and the override
// of a /usr/lib/modprobe.d file by a same-named /etc one work as on the
// image. Copies rather than resolved paths: libkmod reads a path again after
// the check, and a link changed in between would escape; contents read once
// cannot.
class ModprobeConfigCopy {
 public:
  explicit ModprobeConfigCopy(const Fs& fs);
  ~ModprobeConfigCopy();
  ModprobeConfigCopy(const ModprobeConfigCopy&) = delete;
  ModprobeConfigCopy& operator=(const ModprobeConfigCopy&) = delete;

  // The copies of the directories the tree has, for kmod_new().
  const std::vector<std::string>& dirs() const { return dirs_; }
  // Why the copy is incomplete; ok() when it is whole.
  const Status& error() const { return error_; }
  // A libkmod message with the copy's paths turned back into the tree's.
  std::string InImage(std::string line) const;

 private:
  std::string base_;
  std::vector<std::string> dirs_;
  Status error_;
};

// `path` with every link on the way resolved inside the tree as the jailed
// Fs resolves it (".." stops at the tree's root, an absolute target starts
// there): a directory libkmod may open by HostPath() without leaving the
// tree through a link.
std::string ResolveInTree(const Fs& fs, const std::string& path);

}  // namespace gpuhost
