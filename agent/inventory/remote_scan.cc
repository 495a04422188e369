#include "inventory/remote_scan.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "base/strings.h"
#include "inventory/json_reader.h"

namespace gpuhost::inventory {

bool ListensOn(const std::string& proc_net_tcp, int port) {
  std::istringstream in(proc_net_tcp);
  std::string line;
  std::getline(in, line);  // the header
  while (std::getline(in, line)) {
    // "  sl  local_address rem_address   st ...": "0: 0100007F:4082 00000000:0000 0A ..."
    std::istringstream f(line);
    std::string sl, local, remote, st;
    if (!(f >> sl >> local >> remote >> st)) continue;
    auto colon = local.rfind(':');
    if (colon == std::string::npos || st != "0A") continue;
    auto p = ParseHex(std::string_view(local).substr(colon + 1));
    if (p && *p == static_cast<uint64_t>(port)) return true;
  }
  return false;
}

RemoteLibvirt ScanRemoteLibvirt(const Fs& fs, std::vector<Warning>* warnings) {
  RemoteLibvirt r;
  r.port = kRemoteLibvirtPort;
  auto rec = fs.Read(kRemoteLibvirtRecord);
  if (rec.ok()) {
    // The record is remote/libvirt_tls.cc's: read with the reader that names
    // the field that is missing or of the wrong type.
    auto j = nlohmann::json::parse(*rec, nullptr, /*allow_exceptions=*/false);
    JsonReader jr(kRemoteLibvirtRecord);
    RemoteLibvirt got;
    uint64_t port = jr.Uint(j, "port");
    got.server_subject = jr.Str(j, "server_subject");
    got.ca_subject = jr.Str(j, "ca_subject");
    got.allowed_dn = jr.StrArray(j, "allowed_dn");
    if (j.is_discarded()) {
      r.error = std::string(kRemoteLibvirtRecord) + ": not JSON";
    } else if (!jr.status().ok()) {
      r.error = jr.status().message();
    } else if (port == 0 || port > 65535) {
      r.error = std::string(kRemoteLibvirtRecord) + ": port " + std::to_string(port);
    } else {
      r = std::move(got);
      r.port = static_cast<int>(port);
      r.configured = true;
    }
  } else if (!rec.status().IsNotFound()) {
    r.error = rec.status().ToString();
  }
  if (!r.error.empty() && warnings) warnings->push_back({kRemoteLibvirtRecord, r.error});
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    if (auto t = fs.Read(table); t.ok() && ListensOn(*t, r.port)) r.listening = true;
  }
  return r;
}

}  // namespace gpuhost::inventory
