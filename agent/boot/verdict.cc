#include "boot/verdict.h"

#include "inventory/json_reader.h"

namespace gpuhost::boot {
namespace {

using inventory::JsonReader;
using nlohmann::json;

std::string PathIn(const std::string& state_dir) { return state_dir + "/" + kVerdictFileName; }

}  // namespace

json ToJson(const Verdict& v) {
  return {{"version", v.version}, {"uki", v.uki},         {"boot_id", v.boot_id},
          {"at", v.at},           {"blessed", v.blessed}, {"reason", v.reason}};
}

Result<Verdict> VerdictFromJson(const json& j) {
  JsonReader r("verdict");
  Verdict v;
  v.version = r.Str(j, "version");
  v.uki = r.Str(j, "uki");
  v.boot_id = r.Str(j, "boot_id");
  v.at = r.Str(j, "at");
  v.blessed = r.Bool(j, "blessed");
  v.reason = r.Str(j, "reason");
  if (!r.status().ok()) return r.status();
  return v;
}

Result<std::vector<Verdict>> ReadVerdicts(const Fs& fs, const std::string& state_dir) {
  std::string path = PathIn(state_dir);
  auto text = fs.Read(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::vector<Verdict>{};
    return text.status();
  }
  auto j = json::parse(*text, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("verdicts") ||
      !j.at("verdicts").is_array()) {
    return Status::Invalid(path + ": not a verdict file");
  }
  std::vector<Verdict> out;
  for (const auto& e : j.at("verdicts")) {
    auto v = VerdictFromJson(e);
    if (!v.ok()) return Status::Invalid(path + ": " + v.status().message());
    out.push_back(std::move(*v));
  }
  return out;
}

Status AppendVerdict(Fs& fs, const std::string& state_dir, const Verdict& v) {
  std::vector<Verdict> all = ReadVerdicts(fs, state_dir).value_or({});
  all.push_back(v);
  if (all.size() > kVerdictsKept) all.erase(all.begin(), all.end() - kVerdictsKept);
  json a = json::array();
  for (const auto& e : all) a.push_back(ToJson(e));
  json doc = {{"verdicts", a}};
  return fs.WriteAtomic(PathIn(state_dir),
                        doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0644);
}

const Verdict* LastRefusal(const std::vector<Verdict>& verdicts, const std::string& version) {
  for (auto it = verdicts.rbegin(); it != verdicts.rend(); ++it) {
    if (!it->blessed && it->version == version) return &*it;
  }
  return nullptr;
}

}  // namespace gpuhost::boot
