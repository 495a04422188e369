#include "run/policy_fetch.h"

#include <nlohmann/json.hpp>

#include "base/fileio.h"
#include "base/strings.h"
#include "fleet/boot_nic.h"
#include "fleet/url_template.h"
#include "run/policy_source.h"

namespace gpuhost::run {
namespace {

using nlohmann::json;

// A setting from the flag, else its credential, else the local policy.
struct Setting {
  std::string value;
  std::string from;  // "--policy-url", "credential gpuhost.policy-url", "policy fleet.policy_url"
};

// The credential's text, trimmed: a one-line value. Absent: "".
Result<std::string> CredentialLine(const std::string& dir, const std::string& name) {
  if (dir.empty()) return std::string();
  auto text = ReadFileAt(dir + "/" + name, 64 << 10);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::string();
    return Status::Io("credential " + name + ": " + text.status().message());
  }
  std::string v(Trim(*text));
  if (v.empty()) return Status::Invalid("credential " + name + " is empty");
  return v;
}

Result<Setting> Pick(const std::string& flag_value, const char* flag, const std::string& dir,
                     const char* credential, const std::string& policy_value,
                     const char* policy_key) {
  if (!flag_value.empty()) return Setting{flag_value, std::string("--") + flag};
  auto cred = CredentialLine(dir, credential);
  if (!cred.ok()) return cred.status();
  if (!cred->empty()) return Setting{*cred, std::string("credential ") + credential};
  if (!policy_value.empty()) return Setting{policy_value, std::string("policy ") + policy_key};
  return Setting{};
}

// The CA: --policy-ca FILE, the credential (a file: its path is used), the
// policy's fleet.ca_file. It must hold a PEM certificate.
Result<Setting> PickCa(const std::string& flag_value, const std::string& dir,
                       const std::string& policy_value) {
  Setting ca;
  if (!flag_value.empty()) {
    ca = {flag_value, "--policy-ca"};
  } else if (!dir.empty() && ReadFileAt(dir + "/gpuhost.policy-ca", 1 << 20).ok()) {
    ca = {dir + "/gpuhost.policy-ca", "credential gpuhost.policy-ca"};
  } else if (!policy_value.empty()) {
    ca = {policy_value, "policy fleet.ca_file"};
  } else {
    return ca;
  }
  auto text = ReadFileAt(ca.value, 1 << 20);
  if (!text.ok())
    return Status::Invalid("policy CA (" + ca.from + "): " + text.status().ToString());
  if (text->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Status::Invalid("policy CA (" + ca.from + "): " + ca.value +
                           " holds no PEM certificate");
  }
  return ca;
}

std::string LastGoodPath(const std::string& state_dir) { return state_dir + "/" + kLastGoodName; }

// What was there before any fetch: the local policy, as the last fallback.
void UseLocal(PolicyChoice* c, Result<plan::Policy> local) {
  bool built_in = local.ok() && local->source == plan::Policy().source;
  c->origin.source = built_in ? fleet::kSourceBuiltIn : fleet::kSourceLocal;
  c->origin.file = local.ok() && !built_in ? local->source : "";
  c->policy = std::move(local);
}

enum class Fetched { kUsed, kSkipped, kFailed };

// One URL source: fetched and parsed (used), passed over (skipped, with the
// reason), or an error that fails the run (failed).
Fetched TryUrl(const char* source, const std::string& url_template, const fleet::NodeIds& ids,
               const Getter& get, const fetch::GetOptions& opts, PolicyChoice* c) {
  auto url = fleet::Expand(url_template, ids);
  if (!url.ok()) {
    c->origin.skipped.push_back({source, url_template, url.status().message()});
    return Fetched::kSkipped;
  }
  auto text = get(*url, opts);
  if (!text.ok()) {
    if (text.status().IsInvalid()) {
      c->origin.source = source;
      c->origin.url = *url;
      c->policy = text.status();
      return Fetched::kFailed;
    }
    // The message starts with the URL, which the entry carries already.
    std::string reason = text.status().message();
    if (StartsWith(reason, *url + ": ")) reason = reason.substr(url->size() + 2);
    c->origin.skipped.push_back({source, *url, reason});
    return Fetched::kSkipped;
  }
  c->origin.source = source;
  c->origin.url = *url;
  c->policy = plan::ParsePolicy(*text, *url);
  if (!c->policy.ok()) return Fetched::kFailed;
  c->fetched_text = std::move(*text);
  return Fetched::kUsed;
}

// The policy kept by KeepLastGood, if it was kept for this template and
// still parses.
bool TryLastGood(const Fs& fs, const std::string& state_dir, const std::string& url_template,
                 PolicyChoice* c) {
  const std::string path = LastGoodPath(state_dir);
  auto skip = [&](const std::string& url, const std::string& why) {
    c->origin.skipped.push_back({fleet::kSourceLastGood, url, why});
    return false;
  };
  auto text = fs.Read(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return skip("", "none kept on this node yet (" + path + ")");
    return skip("", text.status().ToString());
  }
  json j = json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("policy") || !j.at("policy").is_string() ||
      !j.contains("url") || !j.at("url").is_string() || !j.contains("url_template") ||
      !j.at("url_template").is_string()) {
    return skip("", path + " is not a kept policy (policy, url, url_template)");
  }
  const std::string url = j.at("url").get<std::string>();
  const std::string kept_for = j.at("url_template").get<std::string>();
  if (kept_for != url_template) {
    return skip(url, "kept for another policy URL template ('" + kept_for + "')");
  }
  auto policy = plan::ParsePolicy(j.at("policy").get<std::string>(), path);
  if (!policy.ok()) return skip(url, "no longer valid: " + policy.status().message());
  c->origin.source = fleet::kSourceLastGood;
  c->origin.url = url;
  c->origin.file = path;
  c->policy = std::move(policy);
  return true;
}

}  // namespace

PolicyChoice ChoosePolicy(const Fs& fs, const std::string& policy_file,
                          const std::string& credentials_dir, const FleetOptions& fleet,
                          const inventory::Identity& ids, const std::string& state_dir,
                          const Getter& get) {
  PolicyChoice c;
  auto local = LoadPolicy(fs, policy_file, credentials_dir);
  if (!local.ok()) {
    c.origin.source = fleet::kSourceLocal;
    c.policy = local.status();
    return c;
  }
  const plan::Policy::FleetUrls& in_policy = local->fleet;
  auto tmpl = Pick(fleet.policy_url, "policy-url", credentials_dir, "gpuhost.policy-url",
                   in_policy.policy_url, "fleet.policy_url");
  if (tmpl.ok() && tmpl->value.empty()) {
    UseLocal(&c, std::move(local));
    return c;
  }
  auto fail = [&c](const Status& s) {
    c.policy = s;
    return c;
  };
  if (!tmpl.ok()) return fail(tmpl.status());
  c.origin.url_template = tmpl->value;
  c.origin.url_template_from = tmpl->from;
  if (Status s = fleet::CheckTemplate(tmpl->value); !s.ok()) {
    return fail(Status::Invalid("policy URL (" + tmpl->from + "): " + s.message()));
  }
  auto dflt = Pick(fleet.default_url, "policy-default-url", credentials_dir,
                   "gpuhost.policy-default-url", in_policy.default_url, "fleet.default_url");
  if (!dflt.ok()) return fail(dflt.status());
  if (dflt->value.empty()) {
    auto derived = fleet::DefaultUrlFor(tmpl->value);
    if (!derived.ok()) return fail(derived.status());
    dflt = Setting{*derived, "derived from the policy URL"};
  } else if (Status s = fleet::CheckTemplate(dflt->value); !s.ok()) {
    return fail(Status::Invalid("fleet default URL (" + dflt->from + "): " + s.message()));
  }
  auto ca = PickCa(fleet.ca_file, credentials_dir, in_policy.ca_file);
  if (!ca.ok()) return fail(ca.status());
  c.origin.ca_file = ca->value;

  fleet::NodeIds node{ids.product_uuid, ids.product_serial, ""};
  if (tmpl->value.find("{mac}") != std::string::npos ||
      dflt->value.find("{mac}") != std::string::npos) {
    fleet::BootNic nic = fleet::FindBootNic(fs);
    node.mac = nic.mac;
    c.origin.boot_nic = nic.iface.empty() ? nic.how : nic.iface + " (" + nic.how + ")";
  }
  fetch::GetOptions opts;
  opts.ca_file = ca->value;
  opts.connect_timeout_ms = fleet.timeout_ms;
  opts.total_timeout_ms = fleet.timeout_ms;
  opts.max_bytes = fleet.max_bytes;

  for (const auto& [source, url] : {std::pair{fleet::kSourceNode, tmpl->value},
                                    std::pair{fleet::kSourceFleetDefault, dflt->value}}) {
    switch (TryUrl(source, url, node, get, opts, &c)) {
      case Fetched::kUsed:
      case Fetched::kFailed:
        return c;
      case Fetched::kSkipped:
        break;
    }
  }
  // Nothing fetched: the node runs on without its fleet's word this boot.
  std::string why;
  for (const auto& s : c.origin.skipped) {
    why +=
        (why.empty() ? "" : "; ") + s.source + " " + (s.url.empty() ? "" : s.url + ": ") + s.reason;
  }
  if (!TryLastGood(fs, state_dir, tmpl->value, &c)) UseLocal(&c, std::move(local));
  c.warnings.push_back({"policy", "no policy fetched (" + why + "): using the " + c.origin.source +
                                      " policy" +
                                      (c.origin.file.empty() ? "" : " " + c.origin.file)});
  return c;
}

Status KeepLastGood(Fs& fs, const std::string& state_dir, const PolicyChoice& choice) {
  const std::string& src = choice.origin.source;
  if (!choice.policy.ok() || (src != fleet::kSourceNode && src != fleet::kSourceFleetDefault)) {
    return Status::Ok();
  }
  // No time stamp in it: the same policy kept again is the same file, and
  // WriteAtomic leaves it alone (a second run writes nothing).
  json kept = {{"source", src},
               {"url", choice.origin.url},
               {"url_template", choice.origin.url_template},
               {"policy", choice.fetched_text}};
  return fs.WriteAtomic(LastGoodPath(state_dir),
                        kept.dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0600);
}

}  // namespace gpuhost::run
