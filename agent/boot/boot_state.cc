// BootState as state.json's "boot" and back.
#include "boot/boot_state.h"

#include "inventory/json_reader.h"

namespace gpuhost::boot {
namespace {

using inventory::JsonReader;
using nlohmann::json;

std::optional<UkiState> StateFromName(const std::string& s) {
  for (UkiState st : {UkiState::kGood, UkiState::kPending, UkiState::kTrying, UkiState::kBad}) {
    if (s == UkiStateName(st)) return st;
  }
  return std::nullopt;
}

}  // namespace

json ToJson(const BootState& s) {
  json installed = json::array();
  for (const auto& i : s.installed) {
    installed.push_back({{"version", i.version},
                         {"file", i.file},
                         {"state", UkiStateName(i.state)},
                         {"tries_left", i.tries_left ? json(*i.tries_left) : json(nullptr)},
                         {"tries_done", i.tries_done}});
  }
  json rollback = nullptr;
  if (!s.rolled_back_from.empty()) {
    rollback = {{"from_version", s.rolled_back_from},
                {"tries", s.rollback_tries},
                {"reason", s.rollback_reason}};
  }
  return {{"status", s.status},
          {"summary", s.summary},
          {"image_id", s.image_id},
          {"running_version", s.running_version},
          {"esp", s.esp},
          {"installed", installed},
          {"boot_count_path", s.boot_count_path},
          {"entry", s.entry},
          {"counted_boot", s.counted_boot},
          {"rollback", rollback},
          {"pending_version", s.pending_version}};
}

Result<BootState> BootStateFromJson(const json& j) {
  JsonReader r("boot");
  BootState s;
  s.status = r.Str(j, "status");
  s.summary = r.Str(j, "summary");
  s.image_id = r.Str(j, "image_id");
  s.running_version = r.Str(j, "running_version");
  s.esp = r.Str(j, "esp");
  s.boot_count_path = r.Str(j, "boot_count_path");
  s.entry = r.Str(j, "entry");
  s.counted_boot = r.Bool(j, "counted_boot");
  s.pending_version = r.Str(j, "pending_version");
  if (const json* a = r.Field(j, "installed"); a != nullptr) {
    if (!a->is_array()) return Status::Invalid("boot: 'installed' is not an array");
    for (const auto& e : *a) {
      InstalledVersion i;
      i.version = r.Str(e, "version");
      i.file = r.Str(e, "file");
      auto st = StateFromName(r.Str(e, "state"));
      if (r.status().ok() && !st) return Status::Invalid("boot: unknown installed state");
      i.state = st.value_or(UkiState::kGood);
      i.tries_left = r.OptInt(e, "tries_left");
      i.tries_done = static_cast<int>(r.Uint(e, "tries_done"));
      s.installed.push_back(std::move(i));
    }
  }
  if (const json* rb = r.Field(j, "rollback"); rb != nullptr && !rb->is_null()) {
    s.rolled_back_from = r.Str(*rb, "from_version");
    s.rollback_tries = static_cast<int>(r.Uint(*rb, "tries"));
    s.rollback_reason = r.Str(*rb, "reason");
  }
  if (!r.status().ok()) return r.status();
  return s;
}

}  // namespace gpuhost::boot
