// The kernel command line with the values of its secrets replaced, for every
// place it leaves the process: state.json and `inventory --json` (json.cc),
// `inventory` text, `capture`, the status page, API and metrics. The plan
// decides on the real one in memory; docs/inventory-json.md states the rule.
#pragma once

#include <string>
#include <string_view>

namespace gpuhost::inventory {

// What stands in for a hidden value.
inline constexpr std::string_view kRedacted = "<redacted>";

// Returns `cmdline` with, in each NAME=VALUE word (split as the kernel
// splits: at white space outside double quotes), VALUE replaced where:
//  1. NAME contains "set_credential" (systemd.set_credential=,
//     systemd.set_credential_binary=): the credential id before the first ':'
//     stays, the data goes: "ID:<redacted>"; no ':' -> "<redacted>".
//  2. NAME, lower-cased and cut into words at '.', '_' and '-', has a word
//     that ends in password, passwd, passphrase, secret or token, or is key,
//     apikey, auth, pass, pwd or psk (each also with a plural 's'):
//     "<redacted>" ("foo.password=", "rd.luks.key=", "api_token="; not
//     "secretmem.enable=", "usbcore.authorized_default=", "keyboard=").
//  3. Otherwise, credentials in a URL or an iSCSI root inside VALUE:
//     "scheme://USER:PASSWORD@host" and "iscsi:USER:PASSWORD@..." (up to the
//     last '@' before a '/' or white space) keep USER (":<redacted>@"); one
//     without ':' (a token) becomes "<redacted>@".
// Names, words without '=' (nokaslr, quiet), white space and the quotes
// around a value stay as they were; a hidden part that held an odd number of
// '"' leaves one behind, so the line splits into the same words. Redacting a
// redacted line changes nothing.
std::string RedactCmdline(std::string_view cmdline);

}  // namespace gpuhost::inventory
