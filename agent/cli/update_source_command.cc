// gpuhost-agent update-source: point systemd-sysupdate at this node's update
// server (update/node_transfers.h, docs/updates.md section 3). Run by
// gpuhost-update-source.service at boot, before systemd-sysupdate.service.
#include <unistd.h>

#include <cstdio>

#include "base/fileio.h"
#include "base/strings.h"
#include "cli/commands.h"
#include "fleet/update_source.h"
#include "host/fs.h"
#include "run/policy_source.h"
#include "update/node_transfers.h"

namespace gpuhost::cli {
namespace {

constexpr const char* kCmd = "update-source";

// The flag, else the credential's first line; "" when neither is given.
Result<std::string> FlagOrCredential(const Args& args, const char* flag, const char* credential) {
  if (args.Has(flag)) return args.Get(flag);
  std::string dir = CredentialsDir();
  if (dir.empty()) return std::string();
  auto text = ReadFileAt(dir + "/" + credential, 4096);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::string();
    return Status::Io("credential " + std::string(credential) + ": " + text.status().message());
  }
  return std::string(Trim(Split(*text, '\n').front()));
}

}  // namespace

int RunUpdateSource(const Args& args) {
  auto url = FlagOrCredential(args, "url", "gpuhost.update-url");
  auto tries = FlagOrCredential(args, "tries", "gpuhost.update-tries");
  for (const auto* r : {&url, &tries}) {
    if (!r->ok()) {
      Err(kCmd, r->status().message());
      return 1;
    }
  }
  RootFs fs(args.Get("root", "/"));
  // The policy's "update" object second: a fleet's policy can name the
  // update server for all its nodes. A policy that cannot be read leaves
  // the flags' and credentials' word (or none) standing, said once.
  std::string from = url->empty() ? "" : (args.Has("url") ? "--url" : "gpuhost.update-url");
  if (url->empty() || tries->empty()) {
    auto policy = run::LoadPolicy(fs, args.Get("policy"), CredentialsDir());
    if (!policy.ok()) {
      Err(kCmd, "policy: " + policy.status().message() + " (its update settings are not used)");
    } else {
      if (url->empty() && !policy->update.url.empty()) {
        *url = policy->update.url;
        from = "the policy (" + policy->source + ")";
      }
      if (tries->empty() && policy->update.tries > 0) {
        *tries = std::to_string(policy->update.tries);
      }
    }
  }
  if (url->empty()) {
    std::printf(
        "no update URL (--url, the credential gpuhost.update-url or the policy's update.url): "
        "updates stay off\n");
    return 0;
  }
  update::Source src;
  auto checked = fleet::CheckUpdateUrl(*url);
  if (!checked.ok()) {
    Err(kCmd, checked.status().message() + " (from " + from + "; updates stay off)");
    return 1;
  }
  src.url = *checked;
  if (!tries->empty()) {
    auto n = fleet::CheckUpdateTries(*tries);
    if (!n.ok()) {
      Err(kCmd, n.status().message() + " (updates stay off)");
      return 1;
    }
    src.tries = *n;
  }
  auto written = update::WriteNodeTransfers(fs, src);
  if (!written.ok()) {
    Err(kCmd, written.status().ToString() + " (updates stay off)");
    return 1;
  }
  std::printf("updates from %s%s (from %s): %zu transfers in %s\n", src.url.c_str(),
              src.tries ? (", " + std::to_string(*src.tries) + " boot tries").c_str() : "",
              from.c_str(), written->size(), update::kNodeTransferDir);
  return 0;
}

}  // namespace gpuhost::cli
