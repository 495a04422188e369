// The answers `serve` gives, rendered once per version of the state file so
// that a request costs one read() of an inotify descriptor and a copy.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <string>

#include "base/dir_watch.h"
#include "host/fs.h"
#include "report/view.h"

namespace gpuhost::report {

struct Snapshot {
  Health health;
  std::string healthz;  // GET /healthz body: one line
  std::string page;     // GET /
  std::string api;      // GET /api/v1/status
  std::string metrics;  // GET /metrics
};

// Reads `path` into a View: kMissing when it does not exist, kInvalid (with
// the reason) when it cannot be read or is not a valid state file.
View LoadView(const std::string& path, const std::string& hostname, const BuildInfo& build);

// The blessing's verdict file in the directory of the state file `state_path`.
std::string VerdictPathBeside(const std::string& state_path);
// Its verdicts; none when it is missing or cannot be parsed (the page then
// shows no verdict rather than no page).
std::vector<boot::Verdict> LoadVerdicts(const std::string& verdict_path);
// The last update attempt in the directory of the state file `state_path`;
// none when missing or unreadable.
std::optional<boot::UpdateAttempt> LoadUpdateAttempt(const std::string& state_path);

Snapshot Render(const View& v);

class SnapshotCache {
 public:
  // libvirt: serve's reading of libvirt, or null (the state file's record
  // is shown then).
  // nvidia: serve's NVML reader, or null (no NVIDIA readings shown).
  // root: where this boot's id and the run marker are read (report/
  // run_marker.h); the boot id once, here: it cannot change while we run.
  SnapshotCache(std::string state_path, std::string hostname, BuildInfo build,
                virt::Watcher* libvirt = nullptr, nvml::Watcher* nvidia = nullptr,
                const std::string& root = "/");

  // The snapshot for the files as they are now. Stats the state file, the
  // run marker, the verdicts and the update attempt only when the inotify
  // watch on their directories says something there may have changed (or
  // cannot tell), and re-reads and re-renders only when one's inode, size,
  // mtime or ctime changed (or it appeared or vanished), or libvirt's or
  // NVML's reading changed. Safe to call from any thread; never waits for
  // libvirt.
  std::shared_ptr<const Snapshot> Current();

  // How many times the file was (re)loaded: for tests.
  int loads() const;

 private:
  // One file's version as stat() sees it.
  struct FileKey {
    int err = -1;  // errno of stat(); 0 when it exists
    dev_t dev = 0;
    ino_t ino = 0;
    off_t size = 0;
    int64_t mtime_ns = 0;
    int64_t ctime_ns = 0;
    // A symbolic link: its target's directory is not watched, so every
    // call stats while one is.
    bool link = false;
    bool operator==(const FileKey&) const = default;
  };
  static FileKey Stat(const std::string& path);
  struct Key {
    FileKey state;
    FileKey marker;
    FileKey verdicts;           // boot-assessment.json beside the state file
    FileKey update;             // update.json beside it
    uint64_t virt_version = 0;  // of the libvirt reading; 0: none
    uint64_t nvml_version = 0;  // of the NVML reading; 0: none
    bool operator==(const Key&) const = default;
    bool has_link() const { return state.link || marker.link || verdicts.link || update.link; }
  };

  const std::string path_;
  RootFs root_;
  const std::string marker_path_;   // the run marker as the OS sees it, for stat()
  const std::string verdict_path_;  // the blessing's verdicts beside the state file
  const std::string update_path_;   // the last update attempt beside it
  std::string boot_id_;             // "" when unreadable (serve's sandbox hides /proc/sys)
  const std::string hostname_;
  const BuildInfo build_;
  virt::Watcher* const libvirt_;
  nvml::Watcher* const nvidia_;
  // The host NVIDIA GPUs of the state file as last loaded: what NVML is asked.
  std::vector<inventory::PciAddress> nvidia_gpus_;
  mutable std::mutex mu_;
  // Guarded by mu_. The directories of the four files: a call whose watch
  // reports nothing since the last verified stat() reuses current_.
  DirWatch watch_;
  uint64_t changes_ = 0;    // bumped whenever watch_ says something may have changed
  uint64_t verified_ = 0;   // the changes_ that key_ was stat()ed after
  uint64_t checks_ = 0;     // stat() rounds started, in order
  uint64_t installed_ = 0;  // the newest round whose key_ is installed
  Key key_;
  std::shared_ptr<const Snapshot> current_;
  int loads_ = 0;
};

}  // namespace gpuhost::report
