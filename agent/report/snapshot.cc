#include "report/snapshot.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "base/fileio.h"
#include "report/metrics.h"
#include "report/nvidia_rows.h"
#include "report/page.h"
#include "report/status_json.h"

namespace gpuhost::report {
namespace {

constexpr size_t kMaxStateBytes = 64 << 20;
constexpr size_t kMaxHealthzLine = 1000;

// One line of printable text: the body never carries a CR or LF from the file.
std::string OneLine(std::string s) {
  for (char& c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  if (s.size() > kMaxHealthzLine) s = s.substr(0, kMaxHealthzLine) + "...";
  return s + "\n";
}

// The directory a file is in, as a path inotify can watch.
std::string DirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

View LoadView(const std::string& path, const std::string& hostname, const BuildInfo& build) {
  View v;
  v.state_path = path;
  v.hostname = hostname;
  v.build = build;
  auto text = ReadFileAt(path, kMaxStateBytes);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return v;
    v.source = View::Source::kInvalid;
    v.load_error = text.status().message();
    return v;
  }
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) {
    v.source = View::Source::kInvalid;
    v.load_error = "not valid JSON";
    return v;
  }
  auto state = result::StateFromJson(j);
  if (!state.ok()) {
    v.source = View::Source::kInvalid;
    v.load_error = state.status().message();
    return v;
  }
  v.source = View::Source::kLoaded;
  v.state = std::move(*state);
  return v;
}

std::string VerdictPathBeside(const std::string& state_path) {
  size_t slash = state_path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : state_path.substr(0, slash);
  return dir + "/" + boot::kVerdictFileName;
}

// serve reads these two files by their full path through a jail on "/":
// its seccomp filter refuses openat2 (EPERM), and a jail rooted anywhere
// else would then refuse to read at all (base/jail.h), where "/" has nothing
// above it to escape to and reads plainly. The path is serve's own
// configuration (beside --state), not a request's.
std::vector<boot::Verdict> LoadVerdicts(const std::string& verdict_path) {
  std::string abs = std::filesystem::absolute(verdict_path).lexically_normal().string();
  size_t slash = abs.rfind('/');
  if (slash == std::string::npos) return {};
  RootFs fs("/");
  return boot::ReadVerdicts(fs, slash == 0 ? "/" : abs.substr(0, slash)).value_or({});
}

std::optional<boot::UpdateAttempt> LoadUpdateAttempt(const std::string& state_path) {
  std::string abs = std::filesystem::absolute(state_path).lexically_normal().string();
  size_t slash = abs.rfind('/');
  if (slash == std::string::npos) return std::nullopt;
  RootFs fs("/");
  auto a = boot::ReadUpdateAttempt(fs, slash == 0 ? "/" : abs.substr(0, slash));
  return a.ok() ? *a : std::nullopt;
}

Snapshot Render(const View& v) {
  Snapshot s;
  s.health = Evaluate(v);
  const Health& h = s.health;
  if (h.status == "no-state") {
    s.healthz = OneLine(h.reason);
  } else {
    s.healthz = OneLine(h.reason.empty() ? h.status : h.status + ": " + h.reason);
  }
  s.page = RenderPage(v);
  s.api = StatusJson(v).dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  s.metrics = RenderMetrics(v);
  return s;
}

SnapshotCache::SnapshotCache(std::string state_path, std::string hostname, BuildInfo build,
                             virt::Watcher* libvirt, nvml::Watcher* nvidia, const std::string& root)
    : path_(std::move(state_path)),
      root_(root),
      marker_path_(root_.HostPath(result::kRunMarkerPath)),
      verdict_path_(VerdictPathBeside(path_)),
      update_path_(path_.substr(0, path_.rfind('/') + 1) + boot::kUpdateAttemptFileName),
      boot_id_(result::ReadBootId(root_).value_or("")),
      hostname_(std::move(hostname)),
      build_(std::move(build)),
      libvirt_(libvirt),
      nvidia_(nvidia),
      watch_({DirOf(path_), DirOf(marker_path_)}) {}

SnapshotCache::FileKey SnapshotCache::Stat(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return {.err = errno};
  bool link = S_ISLNK(st.st_mode);
  if (link && stat(path.c_str(), &st) != 0) return {.err = errno, .link = true};
  return {0,
          st.st_dev,
          st.st_ino,
          st.st_size,
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec,
          static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec,
          link};
}

std::shared_ptr<const Snapshot> SnapshotCache::Current() {
  Key key;
  std::shared_ptr<const virt::Reading> reading = libvirt_ ? libvirt_->Latest() : nullptr;
  if (reading) key.virt_version = reading->version;
  std::vector<inventory::PciAddress> nvidia_gpus;
  {
    std::lock_guard<std::mutex> lock(mu_);
    nvidia_gpus = nvidia_gpus_;
  }
  std::shared_ptr<const nvml::Reading> nvml_reading =
      nvidia_ ? nvidia_->Latest(nvidia_gpus) : nullptr;
  if (nvml_reading) key.nvml_version = nvml_reading->version;
  // Whether the files must be stat()ed: the watch is read under the lock,
  // after the request was, so a change made before the request was sent is
  // seen (base/dir_watch.h).
  uint64_t round = 0, changes = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (watch_.MaybeChanged()) ++changes_;
    if (current_ && verified_ == changes_ && !key_.has_link() &&
        key_.virt_version == key.virt_version && key_.nvml_version == key.nvml_version) {
      return current_;
    }
    round = ++checks_;
    changes = changes_;
  }
  key.state = Stat(path_);
  key.marker = Stat(marker_path_);
  key.verdicts = Stat(verdict_path_);
  key.update = Stat(update_path_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_ && key == key_) {
      // Rounds may finish out of order: only a newer one vouches for key_.
      if (round > installed_) {
        installed_ = round;
        verified_ = changes;
      }
      return current_;
    }
  }
  // Render outside the lock: concurrent callers may render the same version
  // twice, which is harmless; none waits behind a slow parse.
  View view = LoadView(path_, hostname_, build_);
  view.boot_id = boot_id_;
  if (key.marker.err != ENOENT) {
    auto marker = result::ReadRunMarker(root_);
    if (marker.ok()) {
      view.run_marker = std::move(*marker);
    } else if (!marker.status().IsNotFound()) {
      view.run_marker_error = marker.status().message();
    }
  }
  if (key.verdicts.err != ENOENT) view.verdicts = LoadVerdicts(verdict_path_);
  if (key.update.err != ENOENT) view.last_update = LoadUpdateAttempt(path_);
  view.live_virt = std::move(reading);
  // The state names the host NVIDIA GPUs: ask NVML about those (a first
  // reading, or a new set, starts in the background and shows on a later request).
  std::vector<inventory::PciAddress> gpus =
      view.state ? HostNvidiaGpus(*view.state) : std::vector<inventory::PciAddress>{};
  if (nvidia_ && gpus != nvidia_gpus) nvml_reading = nvidia_->Latest(gpus);
  view.live_nvml = std::move(nvml_reading);
  auto snap = std::make_shared<const Snapshot>(Render(view));
  std::lock_guard<std::mutex> lock(mu_);
  // A round that stat()ed earlier than the installed one must not replace it
  // with an older version of the files.
  if (round > installed_) {
    installed_ = round;
    verified_ = changes;
    nvidia_gpus_ = std::move(gpus);
    key_ = key;
    current_ = snap;
    ++loads_;
  }
  return snap;
}

int SnapshotCache::loads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return loads_;
}

}  // namespace gpuhost::report
