// Where a node takes its image updates from (docs/updates.md, section 3):
// the URL of the directory holding SHA256SUMS and the versions, and the boot
// tries a new version gets. Given by the credentials gpuhost.update-url and
// gpuhost.update-tries or the policy's "update" object; checked here, the
// same way for both, because each becomes a line of a sysupdate transfer.
// Pure string work.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace gpuhost::fleet {

// http:// or https://, a host, no whitespace, quotes, backslashes or control
// characters, at most 2048 characters; returned with a trailing '/' (a
// directory). Plain http is allowed: what is fetched is checked by the signed
// SHA256SUMS, Secure Boot and verity. Invalid says what is wrong.
Result<std::string> CheckUpdateUrl(std::string_view url);

// 1..9: one digit keeps systemd-boot's counter in the file name simple and a
// bad version's reboots bounded. Invalid otherwise.
Result<int> CheckUpdateTries(std::string_view text);

}  // namespace gpuhost::fleet
