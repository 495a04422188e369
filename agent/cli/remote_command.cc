// gpuhost-agent remote-libvirt: libvirt over TLS from credentials
// (remote/libvirt_tls.h). Its own file: it shares nothing with the
// inventory -> plan -> apply commands.
#include <cstdio>

#include "base/fileio.h"
#include "cli/commands.h"
#include "host/fs.h"
#include "remote/libvirt_tls.h"

namespace gpuhost::cli {

int RunRemoteLibvirt(const Args& args) {
  constexpr const char* kCmd = "remote-libvirt";
  std::string dir = args.Get("credentials", CredentialsDir());
  if (dir.empty()) {
    Err(kCmd, "no credentials: give --credentials DIR or run with $CREDENTIALS_DIRECTORY");
    return 2;
  }
  remote::LibvirtTlsInput in;
  struct Want {
    const char* name;
    std::string* into;
    bool required;
  };
  for (const Want& w : {Want{"gpuhost.libvirt-tls-cert", &in.cert, true},
                        Want{"gpuhost.libvirt-tls-key", &in.key, true},
                        Want{"gpuhost.libvirt-tls-ca", &in.ca, true},
                        Want{"gpuhost.libvirt-tls-allowed-dn", &in.allowed_dn, false}}) {
    auto text = ReadFileAt(dir + "/" + w.name, 1 << 20);
    if (text.ok()) {
      *w.into = *text;
    } else if (w.required || !text.status().IsNotFound()) {
      Err(kCmd, "credential " + std::string(w.name) + ": " + text.status().message() +
                    " (remote libvirt stays off)");
      return 1;
    }
  }
  RootFs fs(args.Get("root", "/"));
  auto sum = remote::InstallLibvirtTls(fs, in);
  if (!sum.ok()) {
    Err(kCmd, sum.status().message() + " (remote libvirt stays off)");
    return 1;
  }
  std::printf("remote libvirt: qemu+tls on port %d as %s; clients: certificates from %s%s\n",
              remote::kTlsPort, sum->server_subject.c_str(), sum->ca_subject.c_str(),
              sum->allowed_dn.empty() ? " (any)" : "");
  for (const auto& dn : sum->allowed_dn) std::printf("  allowed: %s\n", dn.c_str());
  return 0;
}

}  // namespace gpuhost::cli
