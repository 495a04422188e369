// The name of an image's UKI in the ESP's /EFI/Linux, with systemd-boot's
// boot counter: IMAGEID_VERSION[+LEFT[-DONE]].efi. systemd-sysupdate
// installs a new version as +3 (docs/updates.md, section 4); systemd-boot
// renames it before each boot of it (+2-1, +1-2, +0-3) and sorts +0 after
// every other entry; systemd-bless-boot drops the counter once the boot was
// found good. So the name alone says whether a version is blessed, on trial
// or used up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace gpuhost::boot {

struct UkiName {
  std::string file;               // "gpuhost-kvm-host_3+0-3.efi"
  std::string version;            // "3"
  std::optional<int> tries_left;  // none: no counter (blessed, or never counted)
  int tries_done = 0;
};

// What the counter says about the version.
enum class UkiState {
  kGood,     // no counter: blessed (or the image's first version, never counted)
  kPending,  // tries left, none done: installed, not booted yet
  kTrying,   // tries left and some done: booted, not blessed yet
  kBad,      // no tries left: systemd-boot passes over it
};
const char* UkiStateName(UkiState s);  // "good", "pending", "trying", "bad"
UkiState StateOf(const UkiName& n);

// The UKI `file` of image `image_id`, or nullopt when the name is another
// image's, not a UKI, or malformed (a counter that is not a number).
std::optional<UkiName> ParseUkiName(std::string_view file, std::string_view image_id);

}  // namespace gpuhost::boot
