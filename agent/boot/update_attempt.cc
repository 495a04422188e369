#include "boot/update_attempt.h"

#include "inventory/json_reader.h"

namespace gpuhost::boot {
namespace {

using inventory::JsonReader;
using nlohmann::json;

std::string PathIn(const std::string& state_dir) {
  return state_dir + "/" + kUpdateAttemptFileName;
}

}  // namespace

json ToJson(const UpdateAttempt& a) {
  return {{"started_at", a.started_at}, {"finished_at", a.finished_at},
          {"duration_s", a.duration_s}, {"from_version", a.from_version},
          {"to_version", a.to_version}, {"result", a.result},
          {"message", a.message},       {"reboot_requested", a.reboot_requested}};
}

Result<UpdateAttempt> UpdateAttemptFromJson(const json& j) {
  JsonReader r("update attempt");
  UpdateAttempt a;
  a.started_at = r.Str(j, "started_at");
  a.finished_at = r.Str(j, "finished_at");
  if (const json* d = r.Field(j, "duration_s"); d != nullptr) {
    if (!d->is_number()) return Status::Invalid("update attempt: 'duration_s' is not a number");
    a.duration_s = d->get<double>();
  }
  a.from_version = r.Str(j, "from_version");
  a.to_version = r.Str(j, "to_version");
  a.result = r.Str(j, "result");
  a.message = r.Str(j, "message");
  a.reboot_requested = r.Bool(j, "reboot_requested");
  if (!r.status().ok()) return r.status();
  if (a.result != "updated" && a.result != "no-update" && a.result != "failed") {
    return Status::Invalid("update attempt: unknown result '" + a.result + "'");
  }
  return a;
}

Status WriteUpdateAttempt(Fs& fs, const std::string& state_dir, const UpdateAttempt& a) {
  return fs.WriteAtomic(PathIn(state_dir),
                        ToJson(a).dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0644);
}

Result<std::optional<UpdateAttempt>> ReadUpdateAttempt(const Fs& fs, const std::string& state_dir) {
  std::string path = PathIn(state_dir);
  auto text = fs.Read(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::optional<UpdateAttempt>();
    return text.status();
  }
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Invalid(path + ": not valid JSON");
  auto a = UpdateAttemptFromJson(j);
  if (!a.ok()) return Status::Invalid(path + ": " + a.status().message());
  return std::optional<UpdateAttempt>(std::move(*a));
}

}  // namespace gpuhost::boot
