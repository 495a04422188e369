// Whether this node is open to a remote libvirt manager: the record that
// gpuhost-remote-libvirt.service left (remote/libvirt_tls.h) and the kernel's
// own list of listening sockets, so the page never says "on" for a listener
// that is not there, nor "off" for one that is.
#pragma once

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

// libvirtd-tls.socket's port, looked for when no record names one.
inline constexpr int kRemoteLibvirtPort = 16514;
inline constexpr const char* kRemoteLibvirtRecord = "/run/gpuhost/remote-libvirt.json";

// Reads the record (absent: not configured) and /proc/net/tcp{,6}. A record
// that cannot be parsed sets `error` and adds a warning.
RemoteLibvirt ScanRemoteLibvirt(const Fs& fs, std::vector<Warning>* warnings);

// Whether /proc/net/tcp-format text lists a socket in LISTEN state on `port`.
bool ListensOn(const std::string& proc_net_tcp, int port);

}  // namespace gpuhost::inventory
