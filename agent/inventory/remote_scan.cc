#include "inventory/remote_scan.h"

#include <nlohmann/json.hpp>
#include <sstream>

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
    try {
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) return true;
    } catch (const std::exception&) {
      continue;
    }
  }
  return false;
}

RemoteLibvirt ScanRemoteLibvirt(const Fs& fs, std::vector<Warning>* warnings) {
  RemoteLibvirt r;
  r.port = kRemoteLibvirtPort;
  auto rec = fs.Read(kRemoteLibvirtRecord);
  if (rec.ok()) {
    auto j = nlohmann::json::parse(*rec, nullptr, /*allow_exceptions=*/false);
    if (j.is_object() && j.value("port", 0) > 0 && j.contains("ca_subject") &&
        j["ca_subject"].is_string()) {
      r.configured = true;
      r.port = j["port"].get<int>();
      r.server_subject = j.value("server_subject", "");
      r.ca_subject = j["ca_subject"].get<std::string>();
      if (j.contains("allowed_dn") && j["allowed_dn"].is_array()) {
        for (const auto& d : j["allowed_dn"]) {
          if (d.is_string()) r.allowed_dn.push_back(d.get<std::string>());
        }
      }
    } else {
      r.error = std::string(kRemoteLibvirtRecord) + ": not a remote-libvirt record";
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
