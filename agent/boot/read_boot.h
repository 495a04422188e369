// Reads the facts of BootFacts from the machine through the Fs: os-release,
// the ESP's /EFI/Linux, systemd-boot's EFI variables and the verdicts on
// the state partition. Never fails: what cannot be read is left empty and
// Judge() says what that means (the run records it, it does not stop).
#pragma once

#include <string>

#include "boot/boot_state.h"
#include "host/fs.h"

namespace gpuhost::boot {

// Where the ESP may be mounted, in the order systemd's gpt-auto generator
// and Debian use them; the first with EFI/Linux wins.
inline constexpr const char* kEspCandidates[] = {"/efi", "/boot", "/boot/efi"};

BootFacts ReadBootFacts(const Fs& fs, const std::string& state_dir);

// Judge(ReadBootFacts(...)).
BootState ReadBootState(const Fs& fs, const std::string& state_dir);

}  // namespace gpuhost::boot
