#include "result/run_marker.h"

#include <unistd.h>

#include <chrono>

#include "base/clock.h"
#include "base/strings.h"
#include "inventory/json_reader.h"

namespace gpuhost::result {

using nlohmann::json;

json ToJson(const RunMarker& m) {
  return {
      {"boot_id", m.boot_id}, {"run_id", m.run_id}, {"pid", m.pid}, {"started_at", m.started_at}};
}

Result<RunMarker> RunMarkerFromJson(const json& j) {
  inventory::JsonReader r("run marker");
  RunMarker m;
  m.boot_id = r.Str(j, "boot_id");
  m.run_id = r.Str(j, "run_id");
  m.pid = static_cast<int64_t>(r.Uint(j, "pid"));
  m.started_at = r.Str(j, "started_at");
  if (!r.status().ok()) return r.status();
  if (m.run_id.empty()) return Status::Invalid("run marker: empty run_id");
  return m;
}

Result<std::string> ReadBootId(const Fs& fs) {
  auto text = fs.Read(kBootIdPath);
  if (!text.ok()) return text.status();
  std::string id(Trim(*text));
  bool printable = !id.empty() && id.size() <= 64;
  for (char c : id) printable = printable && c > 0x20 && c < 0x7f;
  if (!printable) return Status::Invalid(std::string(kBootIdPath) + ": not a boot id");
  return id;
}

RunMarker NewRunMarker(const std::string& boot_id) {
  RunMarker m;
  m.boot_id = boot_id;
  m.pid = getpid();
  m.started_at = NowRfc3339Utc();
  // The clock in nanoseconds tells two runs of one process apart (tests run
  // several); the pid two processes started in the same nanosecond.
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  m.run_id = (boot_id.empty() ? std::string("unknown-boot") : boot_id) + "/" +
             std::to_string(m.pid) + "/" + std::to_string(ns);
  return m;
}

Status WriteRunMarker(Fs& fs, const RunMarker& m) {
  return fs.WriteAtomic(kRunMarkerPath, ToJson(m).dump() + "\n", 0644);
}

Result<RunMarker> ReadRunMarker(const Fs& fs) {
  auto text = fs.Read(kRunMarkerPath);
  if (!text.ok()) return text.status();
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Invalid(std::string(kRunMarkerPath) + ": not valid JSON");
  auto m = RunMarkerFromJson(j);
  if (!m.ok()) return Status::Invalid(std::string(kRunMarkerPath) + ": " + m.status().message());
  return m;
}

}  // namespace gpuhost::result
