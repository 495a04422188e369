// The policy: what the operator wants (docs/policy.md). Parsing only: the
// caller reads the text (run/policy_source.h finds it) and hands it over.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "plan/model.h"

namespace gpuhost::plan {

// All given fields must match; an empty match matches every GPU.
struct GpuMatch {
  std::optional<PciAddress> address;
  std::optional<uint16_t> vendor;
  std::optional<uint16_t> device;  // with vendor: "10de:2330"
  std::optional<bool> boot_vga;
  std::optional<int> numa_node;
};

struct GpuRule {
  GpuMatch match;
  Assignment assign = Assignment::kHost;
  std::string name;  // "gpus[1]" plus the rule's comment, for reasons
};

enum class Hardening { kOff, kBaseline, kStrict };
const char* HardeningName(Hardening h);

struct Policy {
  std::string source = "built-in defaults";  // file path or credential name
  std::vector<GpuRule> gpus;                 // first match wins
  // Other PCI functions to pass through (a NIC, an NVMe drive, a capture
  // card); nothing but GPUs moves unless a rule here says so.
  std::vector<GpuRule> devices;
  std::vector<std::string> kernel_params;  // extra parameters, validated tokens
  uint64_t hugepage_size_kib = 0;          // 2048 or 1048576; 0: leave alone
  uint64_t hugepages = 0;
  std::string hugepages_where;  // "policy.json:5:30: ", the count's place, for CheckPolicyFits
  Hardening hardening = Hardening::kBaseline;
  std::vector<std::string> listen = {"127.0.0.1:8080"};  // status page
  // The status page's TLS and token files (absolute paths; empty: not set).
  // gpuhost-agent serve's flags and the gpuhost.* credentials come first.
  struct PageFiles {
    std::string tls_cert, tls_key, client_ca, token_file;
  } page_files;
  bool reboot_when_needed = false;  // reboot by itself for missing kernel parameters
  // Where a fleet keeps each node's policy (docs/fleet.md): https:// URL
  // templates with {uuid}, {serial}, {mac}, and the CA of their server
  // (absolute path); "" when not set. Only the local policy's are followed.
  struct FleetUrls {
    std::string policy_url, default_url, ca_file;
  } fleet;
  // Where image updates come from (docs/updates.md, section 3): the URL of
  // the directory with SHA256SUMS, checked by fleet::CheckUpdateUrl ("":
  // not set), and a new version's boot tries (0: the image's). The
  // credentials gpuhost.update-url and gpuhost.update-tries come first.
  struct UpdateSource {
    std::string url;
    int tries = 0;
  } update;
};

// Parses policy text: any bytes in, a Policy or an Invalid status out, never
// an exception. Errors start with `source`, line and column, and name the
// key path: "policy.json:4:23: unknown key 'vendr' in gpus[0].match (known: ...)".
// Checks that need the host (hugepages against MemTotal) are CheckPolicyFits.
Result<Policy> ParsePolicy(std::string_view text, const std::string& source);

}  // namespace gpuhost::plan
