// Shared test helpers: temp directories, the real hardware data beside the
// checkout, running lspci as the reference, and ASSERT_OK.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

#define ASSERT_OK(expr)                                              \
  do {                                                               \
    const auto& _r = (expr);                                         \
    ASSERT_TRUE(_r.ok()) << #expr << ": " << _r.status().ToString(); \
  } while (0)

namespace gpuhost::testing {

inline const gpuhost::Status& StatusOf(const gpuhost::Status& s) { return s; }

// A fresh directory under $TMPDIR, removed with its contents on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// ../shared/hardware beside the checkout (GPUHOST_HARDWARE_DIR at build
// time). Tests fail, never skip, when it is missing: it is the real data.
std::string HardwareDir();
// tests/data in the source tree.
std::string TestDataDir();
// The built gpuhost-agent binary.
std::string AgentBinary();

// Runs a shell command, returns its standard output; fails the test on a
// non-zero exit status.
std::string RunCommand(const std::string& command, int* exit_status = nullptr);

// Everything apply may touch under `root` (etc, sys/bus, sys/devices,
// sys/module, proc/sys, run, var), one sorted line per entry: a file's
// relative path, size and a hash of its contents, a link's path and target.
// Directories are not listed, links are not followed. The kill tests compare
// a run killed and completed with one never killed. (It replaced `find
// -exec md5sum`, one process per file, which took most of those tests' 270 s.)
std::string TreeSnapshot(const std::string& root);

// How many times `what` occurs in `s` (overlapping occurrences count).
size_t Count(const std::string& s, const std::string& what);

// One line of `lspci -mm -n -D`: address -> "class vendor device rev".
std::map<std::string, std::string> LspciIds(const std::string& lspci_args);

}  // namespace gpuhost::testing
