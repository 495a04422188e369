// Which image version runs, which are installed in the ESP with their boot
// counters, and what that means: blessed, on trial, an update waiting for
// the next boot, or a rollback (docs/updates.md, section 4). Recorded by
// every apply run in state.json's "boot" (serve cannot read the ESP: the
// gpt-auto automount makes it root's only) and shown by the page, the API
// and /metrics.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "boot/uki_name.h"
#include "boot/verdict.h"

namespace gpuhost::boot {

struct InstalledVersion {
  std::string version;
  std::string file;  // under /EFI/Linux
  UkiState state = UkiState::kGood;
  std::optional<int> tries_left;  // none: no counter
  int tries_done = 0;
};

// What the agent found, before judging it.
struct BootFacts {
  std::string image_id;         // os-release IMAGE_ID; "" when not an image
  std::string running_version;  // os-release IMAGE_VERSION
  std::string esp;              // where EFI/Linux was found ("/efi"), "" when none
  std::vector<UkiName> ukis;    // this image's UKIs there, in any order
  std::string boot_count_path;  // LoaderBootCountPath; "" on an uncounted boot
  std::string entry;            // LoaderEntrySelected; "" when unknown
  std::vector<Verdict> verdicts;
};

struct BootState {
  // "not-an-image" (no IMAGE_ID/IMAGE_VERSION: a development machine),
  // "no-esp" (no /EFI/Linux: a PXE node, or the ESP is not mounted),
  // "blessed", "on-trial", "update-pending", "rolled-back", "older-selected".
  std::string status = "not-an-image";
  std::string summary;  // one sentence for the page
  std::string image_id;
  std::string running_version;
  std::string esp;
  std::vector<InstalledVersion> installed;  // newest first
  std::string boot_count_path;
  std::string entry;
  bool counted_boot = false;  // this boot is a try of a version on trial
  // rolled-back: the version that was refused, its tries and why.
  std::string rolled_back_from;
  int rollback_tries = 0;
  std::string rollback_reason;
  // update-pending: the version the next boot tries.
  std::string pending_version;
};

// Pure: what the facts mean. Newest first by CompareVersions.
BootState Judge(const BootFacts& f);

nlohmann::json ToJson(const BootState& s);
// Invalid names the first bad field.
Result<BootState> BootStateFromJson(const nlohmann::json& j);

}  // namespace gpuhost::boot
