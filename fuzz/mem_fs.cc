#include "mem_fs.h"

#include <algorithm>

#include "base/path.h"
#include "base/strings.h"

namespace gpuhost::fuzz {
namespace {

constexpr std::string_view kHeader = "@@ ";
constexpr std::string_view kArrow = " -> ";
constexpr int kMaxHops = 8;  // as the kernel's ELOOP, far below it

}  // namespace

MemFs::MemFs(std::string_view bundle) {
  std::string* file = nullptr;  // the file whose lines are being read
  size_t pos = 0;
  while (pos < bundle.size()) {
    size_t eol = bundle.find('\n', pos);
    size_t next = eol == std::string_view::npos ? bundle.size() : eol + 1;
    std::string_view line = bundle.substr(pos, next - pos);
    pos = next;
    if (!StartsWith(line, kHeader)) {
      if (file != nullptr) file->append(line);
      continue;
    }
    std::string_view spec = Trim(line.substr(kHeader.size()));
    file = nullptr;
    size_t arrow = spec.find(kArrow);
    std::string path = NormalizePath(std::string(spec.substr(0, arrow)));
    if (path == "/") continue;
    if (arrow != std::string_view::npos) {
      links_[path] = std::string(spec.substr(arrow + kArrow.size()));
    } else {
      file = &files_[path];
    }
    // Register the path with every directory above it.
    for (std::string child = path; child != "/";) {
      size_t slash = child.rfind('/');
      std::string parent = slash == 0 ? "/" : child.substr(0, slash);
      auto& entries = dirs_[parent];
      std::string name = child.substr(slash + 1);
      if (std::find(entries.begin(), entries.end(), name) == entries.end()) {
        entries.push_back(name);
      }
      child = parent;
    }
  }
  for (auto& [dir, entries] : dirs_) std::sort(entries.begin(), entries.end());
}

Result<std::string> MemFs::Read(const std::string& path) const {
  std::string p = NormalizePath(path);
  for (int hop = 0; hop <= kMaxHops; ++hop) {
    if (auto f = files_.find(p); f != files_.end()) return f->second;
    auto l = links_.find(p);
    if (l == links_.end()) break;
    p = ResolveLink(p, l->second);
  }
  if (dirs_.count(p) != 0) return Status::Invalid(path + ": is a directory");
  return Status::NotFound(path + ": no such file");
}

Result<std::string> MemFs::ReadLink(const std::string& path) const {
  std::string p = NormalizePath(path);
  if (auto l = links_.find(p); l != links_.end()) return l->second;
  if (files_.count(p) != 0 || dirs_.count(p) != 0) return Status::Invalid(path + ": not a link");
  return Status::NotFound(path + ": no such link");
}

Result<std::vector<std::string>> MemFs::List(const std::string& dir) const {
  std::string p = NormalizePath(dir);
  for (int hop = 0; hop <= kMaxHops; ++hop) {
    if (auto d = dirs_.find(p); d != dirs_.end()) return d->second;
    auto l = links_.find(p);
    if (l == links_.end()) break;
    p = ResolveLink(p, l->second);
  }
  return Status::NotFound(dir + ": no such directory");
}

bool MemFs::Exists(const std::string& path) const {
  std::string p = NormalizePath(path);
  return files_.count(p) != 0 || links_.count(p) != 0 || dirs_.count(p) != 0;
}

bool MemFs::IsDir(const std::string& path) const { return List(path).ok(); }

Status MemFs::WriteAtomic(const std::string& path, std::string_view, unsigned) {
  return Status::Unsupported(path + ": the fuzzing file system is read-only");
}

Status MemFs::WriteAttribute(const std::string& path, std::string_view, bool) {
  return Status::Unsupported(path + ": the fuzzing file system is read-only");
}

Status MemFs::Symlink(const std::string&, const std::string& path) {
  return Status::Unsupported(path + ": the fuzzing file system is read-only");
}

std::vector<std::string> MemFs::Paths() const {
  std::vector<std::string> out;
  for (const auto& [p, _] : files_) out.push_back(p);
  for (const auto& [p, _] : links_) out.push_back(p);
  return out;
}

}  // namespace gpuhost::fuzz
