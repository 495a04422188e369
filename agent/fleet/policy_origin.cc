#include "fleet/policy_origin.h"

namespace gpuhost::fleet {
namespace {

using nlohmann::json;

Status Str(const json& j, const char* key, std::string* out) {
  if (!j.contains(key)) return Status::Ok();  // added later: absent reads as ""
  if (!j.at(key).is_string()) {
    return Status::Invalid(std::string("state: policy.") + key + " must be a string");
  }
  *out = j.at(key).get<std::string>();
  return Status::Ok();
}

}  // namespace

json ToJson(const PolicyOrigin& o) {
  json skipped = json::array();
  for (const auto& s : o.skipped) {
    skipped.push_back({{"source", s.source}, {"url", s.url}, {"reason", s.reason}});
  }
  return {{"source", o.source},
          {"url", o.url},
          {"file", o.file},
          {"url_template", o.url_template},
          {"url_template_from", o.url_template_from},
          {"ca_file", o.ca_file},
          {"boot_nic", o.boot_nic},
          {"skipped", skipped}};
}

Result<PolicyOrigin> PolicyOriginFromJson(const json& j) {
  if (!j.is_object()) return Status::Invalid("state: policy must be an object");
  PolicyOrigin o;
  for (auto [key, out] : {std::pair{"source", &o.source}, std::pair{"url", &o.url},
                          std::pair{"file", &o.file}, std::pair{"url_template", &o.url_template},
                          std::pair{"url_template_from", &o.url_template_from},
                          std::pair{"ca_file", &o.ca_file}, std::pair{"boot_nic", &o.boot_nic}}) {
    if (Status s = Str(j, key, out); !s.ok()) return s;
  }
  if (j.contains("skipped")) {
    const json& list = j.at("skipped");
    if (!list.is_array()) return Status::Invalid("state: policy.skipped must be a list");
    for (const auto& e : list) {
      if (!e.is_object()) return Status::Invalid("state: policy.skipped[] must be objects");
      SkippedSource s;
      for (auto [key, out] : {std::pair{"source", &s.source}, std::pair{"url", &s.url},
                              std::pair{"reason", &s.reason}}) {
        if (Status st = Str(e, key, out); !st.ok()) return st;
      }
      o.skipped.push_back(std::move(s));
    }
  }
  return o;
}

}  // namespace gpuhost::fleet
