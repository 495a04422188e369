// An Fs held in memory and built from one fuzz input, so the sysfs/procfs
// readers can be fuzzed without touching a disk. The input is a "bundle":
//
//   @@ /proc/self/mountinfo          a file: the lines up to the next header
//   27 1 254:1 / / rw - ext4 /dev/vda1 rw
//   @@ /sys/dev/block/254:1 -> ../../devices/pci0000:00/0000:00:04.0/block/vda
//
// Directories are implied by the paths under them. collect_seeds.sh writes
// bundles from the fixtures' trees; the fuzzer mutates names and contents.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "host/fs.h"

namespace gpuhost::fuzz {

class MemFs : public Fs {
 public:
  explicit MemFs(std::string_view bundle);

  Result<std::string> Read(const std::string& path) const override;
  Result<std::string> ReadLink(const std::string& path) const override;
  Result<std::vector<std::string>> List(const std::string& dir) const override;
  bool Exists(const std::string& path) const override;
  bool IsDir(const std::string& path) const override;
  // The readers never write: every write is refused.
  Status WriteAtomic(const std::string& path, std::string_view data, unsigned mode) override;
  Status WriteAttribute(const std::string& path, std::string_view value,
                        bool skip_if_same) override;
  Status Symlink(const std::string& target, const std::string& path) override;
  std::string HostPath(const std::string& path) const override { return "/nonexistent" + path; }
  const std::string& root() const override { return root_; }

  // Every path the bundle names, files and links: the fuzz targets walk them.
  std::vector<std::string> Paths() const;

 private:
  std::map<std::string, std::string> files_;
  std::map<std::string, std::string> links_;              // path -> raw target
  std::map<std::string, std::vector<std::string>> dirs_;  // path -> sorted children
  std::string root_ = "/nonexistent";
};

}  // namespace gpuhost::fuzz
