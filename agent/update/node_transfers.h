// Writes the node's copies of the image's sysupdate transfers
// (update/transfer_render.h): every /usr/lib/sysupdate.d/NAME.transfer
// becomes /run/sysupdate.d/NAME.transfer with the node's update URL. /run
// starts empty at every boot, so a node told no URL has no copies and
// systemd-sysupdate fetches from the placeholder, i.e. nothing.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"
#include "update/transfer_render.h"

namespace gpuhost::update {

inline constexpr const char* kImageTransferDir = "/usr/lib/sysupdate.d";
inline constexpr const char* kNodeTransferDir = "/run/sysupdate.d";

// The names written, in order. NotFound when the image has no transfers;
// the first transfer that cannot be read, rendered or written stops it
// (a partial set would update a root without its UKI).
Result<std::vector<std::string>> WriteNodeTransfers(Fs& fs, const Source& src);

}  // namespace gpuhost::update
