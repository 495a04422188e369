#include "host/modprobe_copy.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>

#include "base/fileio.h"
#include "base/path.h"
#include "base/strings.h"

namespace gpuhost {

ModprobeConfigCopy::ModprobeConfigCopy(const Fs& fs) {
  const char* tmpdir = std::getenv("TMPDIR");
  std::string templ =
      std::string(tmpdir != nullptr && *tmpdir ? tmpdir : "/tmp") + "/gpuhost-modprobe.XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    error_ = Status::FromErrno("mkdtemp " + templ, errno);
    return;
  }
  base_ = templ;
  for (const char* d : {"/etc/modprobe.d", "/usr/lib/modprobe.d", "/run/modprobe.d"}) {
    if (!fs.IsDir(d)) continue;
    auto names = fs.List(d);
    if (!names.ok()) continue;
    dirs_.push_back(base_ + d);
    if (Status s = MakeDirs(base_ + d); !s.ok()) error_ = s;
    for (const auto& n : *names) {
      auto text = fs.Read(std::string(d) + "/" + n);
      if (!text.ok()) continue;  // a directory, or a link to nothing in the tree
      if (Status s = WriteFileAtomic(base_ + d + "/" + n, *text, 0644); !s.ok()) error_ = s;
    }
  }
}

ModprobeConfigCopy::~ModprobeConfigCopy() {
  std::error_code ec;
  if (!base_.empty()) std::filesystem::remove_all(base_, ec);
}

std::string ModprobeConfigCopy::InImage(std::string line) const {
  if (base_.empty()) return line;
  for (size_t pos = line.find(base_); pos != std::string::npos; pos = line.find(base_, pos)) {
    line.erase(pos, base_.size());
  }
  return line;
}

std::string ResolveInTree(const Fs& fs, const std::string& path) {
  std::string done = "/";
  std::vector<std::string> rest = Split(NormalizePath(path), '/');
  std::reverse(rest.begin(), rest.end());
  for (int hops = 0; !rest.empty() && hops < 40;) {
    std::string part = rest.back();
    rest.pop_back();
    if (part.empty()) continue;
    std::string next = done == "/" ? "/" + part : done + "/" + part;
    auto target = fs.ReadLink(next);
    if (!target.ok()) {
      done = next;
      continue;
    }
    ++hops;
    std::vector<std::string> more = Split(ResolveLink(next, *target), '/');
    std::reverse(more.begin(), more.end());
    rest.insert(rest.end(), more.begin(), more.end());
    done.assign(1, '/');  // GCC 12: operator=("/") trips a false -Wrestrict
  }
  return done;
}

}  // namespace gpuhost
