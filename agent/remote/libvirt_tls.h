// libvirt over TLS for a remote manager (virt-manager, `virsh -c qemu+tls://`,
// fleet tooling): off unless the boot hands the node its certificate, key and
// the CA its clients' certificates chain to, as credentials. This installs
// them where libvirtd looks (/etc/pki/...), writes libvirtd.conf's
// tls_allowed_dn_list, and leaves a record the agent's inventory reads, so the
// page says whether remote libvirt is on and who may connect.
//
// Run by gpuhost-remote-libvirt.service before libvirtd-tls.socket starts:
// when this fails, the socket is not started and libvirtd serves only its
// local sockets (fail closed: a bad credential never opens a listener).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::remote {

// Where libvirtd reads its TLS files (libvirtd.conf's defaults) and where the
// record goes (read by inventory/remote_scan.h).
inline constexpr const char* kCaPath = "/etc/pki/CA/cacert.pem";
inline constexpr const char* kCertPath = "/etc/pki/libvirt/servercert.pem";
inline constexpr const char* kKeyPath = "/etc/pki/libvirt/private/serverkey.pem";
inline constexpr const char* kLibvirtdConf = "/etc/libvirt/libvirtd.conf";
inline constexpr const char* kRecordPath = "/run/gpuhost/remote-libvirt.json";
inline constexpr int kTlsPort = 16514;  // libvirtd-tls.socket's ListenStream=

// The credentials' contents (PEM text), as read by the caller.
struct LibvirtTlsInput {
  std::string cert;        // gpuhost.libvirt-tls-cert: the node's certificate (chain)
  std::string key;         // gpuhost.libvirt-tls-key: its private key
  std::string ca;          // gpuhost.libvirt-tls-ca: the CA clients' certificates chain to
  std::string allowed_dn;  // gpuhost.libvirt-tls-allowed-dn: one DN pattern per line; optional
};

// What was installed: the record's contents.
struct LibvirtTlsSummary {
  std::string server_subject;
  std::string ca_subject;
  std::vector<std::string> allowed_dn;  // empty: any certificate the CA signed
};

// Checks everything before writing anything: each PEM parses, the key is the
// certificate's, the certificate chains to the CA and is valid now, every DN
// pattern is one printable line without '"' or '\'. Then writes the three
// files (the key 0600), libvirtd.conf's tls_allowed_dn_list (replacing any
// earlier uncommented one; removed when no list is given) and the record,
// each atomically. A second run with the same input changes nothing.
// Errors name the credential and what is wrong with it.
Result<LibvirtTlsSummary> InstallLibvirtTls(Fs& fs, const LibvirtTlsInput& in);

// libvirtd.conf with its tls_allowed_dn_list set to `dns` (none: the
// setting removed). Other lines are kept as they are.
std::string WithAllowedDnList(const std::string& conf, const std::vector<std::string>& dns);

}  // namespace gpuhost::remote
