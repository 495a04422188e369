// Where a run's policy came from and why the sources before it were passed
// over: state.json's "policy", shown by the page, the API and /metrics
// (docs/fleet.md, "What the node says").
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"

namespace gpuhost::fleet {

// The sources, in the order they are tried when a policy URL is set.
inline constexpr const char* kSourceNode = "node";
inline constexpr const char* kSourceFleetDefault = "fleet-default";
inline constexpr const char* kSourceLastGood = "last-good";
// Without a fetch, or when every fetched source was passed over: the local
// policy (--policy, the credential gpuhost.policy, /etc/gpuhost/policy.json)
// or, when there is none, the built-in defaults.
inline constexpr const char* kSourceLocal = "local";
inline constexpr const char* kSourceBuiltIn = "built-in";

// A source passed over, and why ("not found (HTTP 404)", "timed out after
// 5000 ms", "certificate verify failed", "{serial}: this machine reports no
// SMBIOS product serial").
struct SkippedSource {
  std::string source;
  std::string url;
  std::string reason;
};

struct PolicyOrigin {
  std::string source;  // one of the kSource*; "" when no policy was reached
  std::string url;     // node, fleet-default: the URL fetched; last-good: where it was fetched
  std::string file;    // local: the file or credential; last-good: the file kept on the node
  // The template, where it came from ("--policy-url", "credential
  // gpuhost.policy-url", "policy fleet.policy_url") and the CA that checks
  // the server ("" : the system's CA bundle); all "" without a policy URL.
  std::string url_template;
  std::string url_template_from;
  std::string ca_file;
  std::string boot_nic;  // how {mac} was chosen (fleet/boot_nic.h), "" when unused
  std::vector<SkippedSource> skipped;
};

nlohmann::json ToJson(const PolicyOrigin& o);
// Invalid naming the field that is not what it should be.
Result<PolicyOrigin> PolicyOriginFromJson(const nlohmann::json& j);

}  // namespace gpuhost::fleet
