// The only code that writes files (after systemd's fileio.c). Config and
// state files are written atomically; sysfs/procfs attributes in one write().
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/unique_fd.h"

namespace gpuhost {

// Whole-file read. Virtual files (sysfs) are read until EOF with a bounded
// size so a runaway attribute cannot eat memory. NotFound if absent.
Result<std::string> ReadFileAt(const std::string& path, size_t max_bytes = 16 << 20);

// Writes `data` to a temporary file beside `path`, fsyncs it, renames it over
// `path` and fsyncs the directory: readers see the old or the new contents,
// never a torn file, also when the process is killed at any point. A stale
// temporary from a killed run is replaced, never read. Creates missing parent
// directories (mode 0755). Skips the write when `path` already holds `data`,
// so a second run changes nothing (mtime included).
Status WriteFileAtomic(const std::string& path, std::string_view data, mode_t mode = 0644);

// One write() of `value` to a sysfs/procfs attribute (no O_CREAT, no
// truncation semantics beyond what the kernel gives). With skip_if_same, the
// attribute is read first and the write is skipped when it already holds the
// value (trailing newline ignored).
Status WriteVirtualFile(const std::string& path, std::string_view value, bool skip_if_same);

// The same write done by a child process that gets `timeout_ms`: a sysfs
// write can block in the kernel (an unbind waiting for a GPU's users), and
// the agent must not freeze with it. On timeout the child is left behind
// (a task stuck in the kernel cannot be killed) and Timeout is returned.
Status WriteVirtualFileWithDeadline(const std::string& path, std::string_view value,
                                    bool skip_if_same, int timeout_ms);

// The same operations on descriptors a caller opened (a Jail's: every path
// resolved inside a --root tree). `what` names the file in messages.
Result<std::string> ReadFd(int fd, const std::string& what, size_t max_bytes = 16 << 20);
// WriteFileAtomic's steps for the entry `name` of the open directory
// `dirfd`: the temporary is created, renamed and fsynced relative to
// `dirfd`, so neither can land outside it. `name` is one plain name. A
// symbolic link at `name` is replaced, never followed.
Status WriteFileAtomicIn(int dirfd, const std::string& name, std::string_view data, mode_t mode,
                         const std::string& what);
// WriteVirtualFile's one write(), to the descriptor `open` returns; with a
// deadline, `open` is called in the child.
using OpenForWrite = std::function<Result<UniqueFd>()>;
Status WriteVirtualFileVia(const OpenForWrite& open, std::string_view value,
                           const std::string& what);
Status WriteVirtualFileViaWithDeadline(const OpenForWrite& open, std::string_view value,
                                       const std::string& what, int timeout_ms);

// mkdir -p with mode 0755.
Status MakeDirs(const std::string& dir);

}  // namespace gpuhost
