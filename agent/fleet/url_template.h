// The policy URL template of a fleet (docs/fleet.md): an https:// URL with
// {uuid}, {serial} and {mac} in its path or query, filled in with the node's
// identity. Pure string work: no network, no files.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

namespace gpuhost::fleet {

// What a node is known by. "" when the machine has none (no SMBIOS serial,
// no boot NIC found); a template that needs it then cannot be filled in.
struct NodeIds {
  std::string uuid;    // SMBIOS product UUID, lower case as the kernel shows it
  std::string serial;  // SMBIOS product serial, as read (trimmed)
  std::string mac;     // the boot NIC's MAC, "aa-bb-cc-dd-ee-ff" (fleet/boot_nic.h)
};

// The placeholders a template may use, "{uuid}, {serial}, {mac}".
const char* KnownPlaceholders();

// Invalid, with a message that says what is wrong, when `url` is not a
// usable template: not https:// ("http:// is refused: ..."), no host, a
// placeholder we do not know ("unknown placeholder {host} (known: ...)"), a
// '{' without its '}' or a stray '}', a placeholder in the scheme or host,
// characters that are not allowed in a URL (spaces, controls, non-ASCII), a
// fragment. A template without any placeholder is fine (one file for all).
Status CheckTemplate(std::string_view url);

// `url` with each placeholder replaced by its value, URL-escaped (every byte
// but A-Z a-z 0-9 - . _ ~ as %XX). Invalid as CheckTemplate; NotFound naming
// the placeholder when its value is "" ("{serial}: this machine reports no
// SMBIOS serial").
Result<std::string> Expand(std::string_view url, const NodeIds& ids);

// Percent-encoding of everything but the unreserved characters (RFC 3986).
std::string UrlEscape(std::string_view value);

// The fleet default's URL derived from a node template: the last path
// segment replaced by "default.json", the query dropped.
// "https://pxe.example/gpuhost/nodes/{uuid}.json" ->
// "https://pxe.example/gpuhost/nodes/default.json". Invalid as CheckTemplate.
Result<std::string> DefaultUrlFor(std::string_view url);

// An https URL split for a client: host (brackets removed for IPv6), port
// (443 unless given) and the request target (path plus query, "/" at least).
struct HttpsTarget {
  std::string host;
  int port = 443;
  std::string target;
};
// Invalid when `url` is not an https URL CheckTemplate would accept, or
// still holds a placeholder.
Result<HttpsTarget> SplitHttpsUrl(std::string_view url);

}  // namespace gpuhost::fleet
