// systemd-boot's variables in efivarfs (the Boot Loader Interface): which
// entry this boot started and, on a counted boot, the UKI's path with its
// counter. Read through the Fs, so tests put the files in a fixture tree.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::boot {

// The vendor GUID systemd-boot's variables carry.
inline constexpr const char* kLoaderGuid = "4a67b082-0a4c-41cf-b6c7-440b29bb8c4f";
inline constexpr const char* kEfivarsDir = "/sys/firmware/efi/efivars";

// "/sys/firmware/efi/efivars/NAME-4a67b082-...".
std::string LoaderVariablePath(std::string_view name);

// An efivarfs file's bytes (4 attribute bytes, then the value) as the
// UTF-16LE string systemd-boot stores, up to its NUL. Characters beyond
// ASCII become '?': these are file names and entry ids, shown and compared,
// never used as paths. Invalid when the value is not UTF-16 (odd length, too
// short).
Result<std::string> DecodeUtf16Variable(std::string_view bytes);

// The variable NAME of systemd-boot: NotFound when it is not set (not a
// systemd-boot boot, or not a counted one for LoaderBootCountPath).
Result<std::string> ReadLoaderVariable(const Fs& fs, std::string_view name);

// The bytes an efivarfs file holds for `value`: for fixtures and tests.
std::string EncodeUtf16Variable(std::string_view value);

}  // namespace gpuhost::boot
