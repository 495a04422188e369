// The policy of a fleet node (docs/fleet.md): fetched by the node's identity
// from a policy URL template, falling back in a stated order, with where it
// came from and why the sources before it were passed over.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "fetch/https_get.h"
#include "fleet/policy_origin.h"
#include "host/fs.h"
#include "inventory/model.h"
#include "plan/policy.h"

namespace gpuhost::run {

// The agent's flags; "" where not given. Each is taken from the flag, else
// its credential (gpuhost.policy-url, gpuhost.policy-default-url,
// gpuhost.policy-ca in $CREDENTIALS_DIRECTORY), else the local policy's
// fleet.policy_url, fleet.default_url, fleet.ca_file.
struct FleetOptions {
  std::string policy_url;   // --policy-url
  std::string default_url;  // --policy-default-url; else derived (fleet/url_template.h)
  std::string ca_file;      // --policy-ca; else the system's CA bundle
  int timeout_ms = 5000;    // --policy-timeout-ms: connect and the whole fetch, each URL
  size_t max_bytes = 1 << 20;
};

// Where the node keeps the last policy it fetched and validated, under the
// state directory.
inline constexpr const char* kLastGoodName = "policy.last-good.json";

// How a URL's body is got: fetch::HttpsGet where the caller may use the
// network, a fetch record's ReplayGetter (run/fetch_record.h) in the agent's
// unit, which has none. Errors as HttpsGet's: Invalid fails the run (the
// server answered with something no policy can be), any other kind passes
// the source over with the message (the URL's "URL: " prefix dropped) as
// the reason.
using Getter =
    std::function<Result<std::string>(const std::string& url, const fetch::GetOptions& opts)>;

struct PolicyChoice {
  Result<plan::Policy> policy = Status::Invalid("no policy chosen");
  fleet::PolicyOrigin origin;
  std::string fetched_text;  // node and fleet-default: the policy as fetched
  std::vector<inventory::Warning> warnings;
};

// The local policy (run/policy_source.h: --policy, the credential
// gpuhost.policy, /etc/gpuhost/policy.json, the built-in defaults), and when
// a policy URL template is set, first found wins:
//   1. node: the template with the node's ids filled in;
//   2. fleet-default: the default URL;
//   3. last-good: what KeepLastGood kept under state_dir for this template;
//   4. the local policy itself ("local", or "built-in" when there is none).
// A source that cannot be reached (no connection, TLS, timeout, HTTP error,
// a placeholder this machine has no value for) is passed over with its
// reason in origin.skipped. A fetched policy that does not parse, or an
// answer over the size cap, is an error naming the URL, never passed over:
// `policy` is that error. So are a local policy that does not parse, a bad
// template and a CA file that cannot be read. Without a template nothing is
// fetched and the local policy is the answer, as before fleets. Each URL is
// asked of `get` (real HTTPS unless told otherwise).
PolicyChoice ChoosePolicy(const Fs& fs, const std::string& policy_file,
                          const std::string& credentials_dir, const FleetOptions& fleet,
                          const inventory::Identity& ids, const std::string& state_dir,
                          const Getter& get = fetch::HttpsGet);

// Keeps a fetched policy (node or fleet-default) as the last good one,
// atomically under state_dir through fs. Call only once it passed every
// check (ChoosePolicy's parse and plan::CheckPolicyFits). Ok and nothing
// written for other sources.
Status KeepLastGood(Fs& fs, const std::string& state_dir, const PolicyChoice& choice);

}  // namespace gpuhost::run
