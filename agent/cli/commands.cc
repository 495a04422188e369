#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>

#include "apply/holders.h"
#include "apply/restore.h"
#include "base/fileio.h"
#include "base/strings.h"
#include "host/fs.h"
#include "inventory/capture.h"
#include "inventory/json.h"
#include "inventory/text.h"
#include "nvml/nvml.h"
#include "plan/json.h"
#include "plan/plan.h"
#include "plan/policy.h"
#include "plan/policy_fit.h"
#include "plan/text.h"
#include "report/serve.h"
#include "result/journal.h"
#include "run/agent_run.h"
#include "run/fetch_record.h"
#include "run/load_inventory.h"
#include "run/policy_fetch.h"
#include "run/policy_source.h"
#include "verify/verify_image.h"

namespace gpuhost::cli {
namespace {

const OptionSpec kRoot{"root", true, false, "DIR",
                       "Read /sys, /proc and /dev under DIR instead of / (a capture or fixture)."};
const OptionSpec kPolicy{"policy", true, false, "FILE",
                         "Policy file (default: credential gpuhost.policy, then "
                         "/etc/gpuhost/policy.json under the root, then built-in defaults)."};
// A fleet node's policy (run/policy_fetch.h, docs/fleet.md).
const OptionSpec kPolicyUrl{
    "policy-url", true, false, "URL",
    "A fleet node's policy: https:// URL with {uuid}, {serial} and {mac} filled in "
    "(default: credential gpuhost.policy-url, then the policy's fleet.policy_url). "
    "Falls back to the fleet default, the last good policy, the local one (docs/fleet.md)."};
const OptionSpec kPolicyDefaultUrl{
    "policy-default-url", true, false, "URL",
    "The fleet default (credential gpuhost.policy-default-url, policy fleet.default_url; "
    "else the policy URL's directory + default.json)."};
const OptionSpec kPolicyCa{
    "policy-ca", true, false, "FILE",
    "PEM CA the policy server's certificate must come from (credential gpuhost.policy-ca, "
    "policy fleet.ca_file; else the system's CA bundle)."};
const OptionSpec kPolicyTimeout{"policy-timeout-ms", true, false, "N",
                                "Deadline of each policy fetch, connect included (default 5000)."};
// The unit's way to the fleet policy without a socket (run/fetch_record.h).
const OptionSpec kFetched{
    "fetched", true, false, "FILE",
    "Answer the policy URLs from this record of `fetch-policy` (a path under the root, as "
    "gpuhost-policy-fetch.service writes it) instead of fetching them over HTTPS."};

// The inventory `cmd` works from (run/load_inventory.h), or false once it
// has said on stderr what could not be read: the command then stops.
bool Load(const char* cmd, const Fs& fs, const run::LoadOptions& opts, run::LoadedInventory* out) {
  Status s = run::LoadInventory(fs, opts, out);
  if (s.ok()) return true;
  Err(cmd, s.message());
  return false;
}

}  // namespace

bool FleetFlags(const char* cmd, const Args& args, run::FleetOptions* out) {
  out->policy_url = args.Get("policy-url");
  out->default_url = args.Get("policy-default-url");
  out->ca_file = args.Get("policy-ca");
  if (!args.Has("policy-timeout-ms")) return true;
  auto ms = ParseInt(args.Get("policy-timeout-ms"));
  if (!ms || *ms < 1 || *ms > 600000) {
    Err(cmd, "--policy-timeout-ms '" + args.Get("policy-timeout-ms") +
                 "': want a whole number of milliseconds 1..600000");
    return false;
  }
  out->timeout_ms = static_cast<int>(*ms);
  return true;
}

bool PathUnderRootFlag(const char* cmd, const Args& args, const char* flag,
                       const std::string& fallback, std::string* out) {
  *out = args.Get(flag, fallback);
  if (out->empty() || (*out)[0] == '/') return true;
  Err(cmd, std::string("--") + flag + " '" + *out + "': want an absolute path (under --root)");
  return false;
}

std::string CredentialsDir() {
  const char* d = std::getenv("CREDENTIALS_DIRECTORY");
  return d == nullptr ? "" : d;
}

void Err(const char* cmd, const std::string& msg) {
  std::fprintf(stderr, "gpuhost-agent %s: %s\n", cmd, msg.c_str());
}

const std::vector<Command>& Commands() {
  static const std::vector<Command> commands = {
      {"inventory",
       "Describe the machine: PCI functions, GPUs and their companions, IOMMU groups, CPU, KVM.",
       "[--root DIR | --pci-dump FILE] [--json] [--out FILE]",
       {kRoot,
        {"pci-dump", true, false, "FILE",
         "Read PCI functions from an 'lspci -x' dump (libpci's dump method) instead of sysfs."},
        {"pci-ids", true, false, "FILE", "Use this pci.ids for names."},
        {"json", false, false, "", "Print the stable JSON form (docs/inventory-json.md)."},
        {"out", true, false, "FILE", "Write to FILE atomically instead of standard output."}},
       RunInventory},
      {"capture",
       "Copy the part of /sys and /proc that inventory reads into DIR, for a bug report or a "
       "test fixture.",
       "--out DIR [--root DIR]",
       {{"out", true, false, "DIR", "Where to write the captured tree: a new or empty directory."},
        kRoot},
       RunCapture},
      {"plan",
       "Show what apply would do and why: GPU assignments (host or vfio) and ordered actions.",
       "[--root DIR] [--policy FILE] [--policy-url URL [--policy-default-url URL] "
       "[--policy-ca FILE] [--policy-timeout-ms N]] [--fetched FILE] [--json]",
       {kRoot,
        kPolicy,
        kPolicyUrl,
        kPolicyDefaultUrl,
        kPolicyCa,
        kPolicyTimeout,
        kFetched,
        {"json", false, false, "", "Print the plan as JSON."}},
       RunPlan},
      {"apply",
       "Bring the machine to the state its policy asks for; write the result file.",
       "[--root DIR] [--policy FILE] [--policy-url URL [--policy-default-url URL] "
       "[--policy-ca FILE] [--policy-timeout-ms N]] [--fetched FILE] [--dry-run] "
       "[--state-dir DIR] [--json]",
       {kRoot,
        kPolicy,
        kPolicyUrl,
        kPolicyDefaultUrl,
        kPolicyCa,
        kPolicyTimeout,
        kFetched,
        {"dry-run", false, false, "", "Decide and report; change nothing, write no state."},
        {"state-dir", true, false, "DIR",
         "Where state.json goes, under the root (default /var/lib/gpuhost)."},
        {"json", false, false, "", "Print the result (state.json) instead of a summary."}},
       RunApply},
      {"restore",
       "Give every function gpuhost moved to vfio-pci back to its previous driver, no reboot. "
       "Functions a VM still uses stay.",
       "[--root DIR] [--state-dir DIR]",
       {kRoot,
        {"state-dir", true, false, "DIR",
         "Where original-drivers.json is, under the root (default /var/lib/gpuhost)."}},
       RunRestore},
      {"pin-vfio",
       "Set driver_override to vfio-pci on the passthrough functions an earlier apply wrote "
       "into /etc/udev/rules.d/70-gpuhost-vfio.rules, before udev's coldplug loads drivers "
       "(gpuhost-vfio-pin.service). Unbinds nothing; a slot holding another device is left "
       "alone.",
       "[--root DIR]",
       {kRoot},
       RunPinVfio},
      {"bless",
       "Judge this boot for systemd's boot counting: exit 0 only when the agent's run of this "
       "boot finished healthy (what /healthz says), and record the verdict "
       "(docs/updates.md). gpuhost-bless.service runs it on counted boots.",
       "[--root DIR] [--state-dir DIR]",
       {kRoot,
        {"state-dir", true, false, "DIR",
         "Where state.json is and the verdicts go, under the root (default /var/lib/gpuhost)."}},
       RunBless},
      {"update",
       "Run systemd-sysupdate once and record how it went for the page and /metrics: the "
       "version installed (read from the ESP before and after), the result, the time "
       "(docs/updates.md).",
       "[--reboot] [--timeout-s N] [--sysupdate PATH] [--root DIR] [--state-dir DIR]",
       {kRoot,
        {"reboot", false, false, "", "Reboot into the new version when one was installed."},
        {"timeout-s", true, false, "N", "Stop systemd-sysupdate after N seconds (default 3600)."},
        {"sysupdate", true, false, "PATH",
         "systemd-sysupdate to run (default /usr/lib/systemd/systemd-sysupdate)."},
        {"state-dir", true, false, "DIR",
         "Where update.json goes, under the root (default /var/lib/gpuhost)."}},
       RunUpdateCommand},
      {"update-source",
       "Point systemd-sysupdate at this node's update server: write the image's "
       "/usr/lib/sysupdate.d transfers into /run/sysupdate.d with the URL and boot tries "
       "(docs/updates.md). Without a URL, updates stay off.",
       "[--url URL] [--tries N] [--policy FILE] [--root DIR]",
       {kRoot,
        kPolicy,
        {"url", true, false, "URL",
         "The directory with SHA256SUMS and the versions (https://, or http://). Default: the "
         "credential gpuhost.update-url, else the policy's update.url."},
        {"tries", true, false, "N",
         "Boot tries of a new version, 1..9. Default: the credential gpuhost.update-tries, "
         "else the policy's update.tries, else the image's 3."}},
       RunUpdateSource},
      {"gpu-status",
       "Read each NVIDIA GPU through NVML (model, driver, memory, utilisation, temperature, MIG).",
       "[--root DIR] [--json]",
       {kRoot, {"json", false, false, "", "Print JSON."}},
       RunGpuStatus},
      {"holders",
       "Say who holds a PCI function (open device nodes, nvidia-persistenced, mounts): what "
       "apply checks before it unbinds anything.",
       "--address DDDD:BB:DD.F [--root DIR]",
       {{"address", true, false, "ADDR", "The PCI function."}, kRoot},
       RunHolders},
      {"verify-image",
       "Check an image tree offline: every module the agent may load resolves with its "
       "dependencies for the image's kernel, their firmware exists, modprobe.d parses.",
       "--root DIR [--nvidia] [--signer-cert FILE]",
       {kRoot,
        {"nvidia", false, false, "", "Also require the NVIDIA modules (nvidia profile)."},
        {"signer-cert", true, false, "FILE",
         "PEM certificate that must have signed the modules the image adds (DKMS's, under "
         "updates/): the image's Secure Boot certificate."}},
       RunVerifyImage},
      {"serve",
       "Serve the status page, JSON API and metrics from the agent's state directory.",
       "[--listen ADDR:PORT]... [--tls-cert FILE --tls-key FILE [--client-ca FILE]] "
       "[--token-file FILE] [--max-connections N] [--max-per-address N] "
       "[--reserved-connections N] [--max-handshakes N] [--event-loops N] [--root DIR] "
       "[--state-dir DIR] "
       "[--libvirt-uri URI | --no-libvirt]",
       {kRoot,
        {"listen", true, true, "ADDR:PORT",
         "Address to listen on (repeatable). Default: the credential gpuhost.listen (addresses "
         "separated by spaces or lines), else the policy's status_page.listen, else "
         "127.0.0.1:8080. An address beyond loopback needs TLS and a token."},
        {"tls-cert", true, false, "FILE",
         "PEM certificate chain: serve HTTPS (TLS 1.2+). Default: the credential "
         "gpuhost.tls-cert, then the policy's status_page.tls_cert."},
        {"tls-key", true, false, "FILE",
         "PEM private key of --tls-cert (credential gpuhost.tls-key, policy tls_key)."},
        {"client-ca", true, false, "FILE",
         "Require client certificates from this CA: mutual TLS (credential gpuhost.client-ca, "
         "policy client_ca)."},
        {"token-file", true, false, "FILE",
         "Every path but /healthz needs 'Authorization: Bearer <token>' with the token in FILE "
         "(credential gpuhost.token, policy token_file)."},
        {"max-connections", true, false, "N", "Ordinary connections in all (default 512)."},
        {"max-per-address", true, false, "N",
         "Ordinary connections from one client address (default 64)."},
        {"reserved-connections", true, false, "N",
         "Connections beyond those limits that may ask /healthz once each (default 16)."},
        {"max-handshakes", true, false, "N",
         "TLS handshakes in progress per event loop, at most half from one address; more wait "
         "unread for their turn (default 8)."},
        {"event-loops", true, false, "N",
         "Threads serving connections, 1..64 (default: one per CPU serve may run on, at most "
         "4)."},
        {"state-dir", true, false, "DIR",
         "Where the agent's files are, under the root (default /var/lib/gpuhost)."},
        {"libvirt-uri", true, false, "URI",
         "Read VMs from this libvirt URI, whether or not libvirtd runs (default: qemu:///system, "
         "read only while libvirtd or virtqemud is active)."},
        {"no-libvirt", false, false, "", "Do not read libvirt; show what the last run recorded."}},
       RunServe},
      {"remote-libvirt",
       "Open libvirt to a remote manager over TLS, from credentials.",
       "[--credentials DIR] [--root DIR]",
       {{"credentials", true, false, "DIR",
         "Where gpuhost.libvirt-tls-{cert,key,ca} (and optional -allowed-dn) are "
         "(default: $CREDENTIALS_DIRECTORY)."},
        kRoot},
       RunRemoteLibvirt},
      {"check-policy",
       "Parse policy files as apply would (not the checks that need the machine, such as "
       "hugepages against its memory); one line per file, 'FILE: ok' or the error.",
       "--policy FILE [--policy FILE]...",
       {{"policy", true, true, "FILE", "A policy file (repeatable)."}},
       RunCheckPolicy},
      {"fetch-policy",
       "Fetch a fleet node's policy URLs over HTTPS as apply would choose among them and record "
       "the answers for `apply --fetched` (gpuhost-policy-fetch.service). Exit 0 once the "
       "record is written: the choice is apply's.",
       "[--out FILE] [--root DIR] [--policy FILE] [--policy-url URL [--policy-default-url URL] "
       "[--policy-ca FILE] [--policy-timeout-ms N]]",
       {{"out", true, false, "FILE",
         std::string("Where the record goes, under the root (default ") + run::kFetchRecordPath +
             ")."},
        kRoot,
        kPolicy,
        kPolicyUrl,
        kPolicyDefaultUrl,
        kPolicyCa,
        kPolicyTimeout},
       RunFetchPolicy},
  };
  return commands;
}

int RunInventory(const Args& args) {
  RootFs fs(args.Get("root", "/"));
  run::LoadOptions o;
  o.pci = {args.Get("pci-dump"), args.Get("pci-ids")};
  o.libvirt = run::LibvirtStep::kReadOnly;
  run::LoadedInventory loaded;
  if (!Load("inventory", fs, o, &loaded)) return 1;
  const inventory::Inventory& inv = loaded.inv;
  std::string out =
      args.Has("json") ? inventory::ToJson(inv).dump(2) + "\n" : inventory::ToText(inv);
  if (args.Has("out")) {
    Status w = WriteFileAtomic(args.Get("out"), out, 0644);
    if (!w.ok()) {
      Err("inventory", w.ToString());
      return 1;
    }
  } else {
    std::fwrite(out.data(), 1, out.size(), stdout);
  }
  for (const auto& w : inv.warnings) {
    std::fprintf(stderr, "warning: %s: %s\n", w.where.c_str(), w.message.c_str());
  }
  return 0;
}

int RunCapture(const Args& args) {
  if (!args.Has("out")) {
    Err("capture", "--out DIR is required");
    return 2;
  }
  // A new or empty directory only: a capture mixed with older files would
  // replay as a machine that never existed.
  const std::string out = args.Get("out");
  std::error_code ec;
  if (std::filesystem::exists(out, ec) && !std::filesystem::is_empty(out, ec)) {
    Err("capture", out + " is not empty: --out takes a new or empty directory");
    return 2;
  }
  if (Status s = MakeDirs(out); !s.ok()) {
    Err("capture", s.ToString());
    return 1;
  }
  RootFs src(args.Get("root", "/"));
  RootFs dst(out);
  auto stats = inventory::Capture(src, dst);
  if (!stats.ok()) {
    Err("capture", stats.status().ToString());
    return 1;
  }
  for (const auto& w : stats->warnings) {
    std::fprintf(stderr, "warning: %s: %s\n", w.where.c_str(), w.message.c_str());
  }
  std::printf("captured %d files and %d links into %s\n", stats->files, stats->links,
              args.Get("out").c_str());
  return 0;
}

int RunPlan(const Args& args) {
  RootFs fs(args.Get("root", "/"));
  run::LoadedInventory loaded;
  if (!Load("plan", fs, {}, &loaded)) return 1;
  const inventory::Inventory& inv = loaded.inv;
  run::FleetOptions fleet;
  std::string fetched;
  if (!FleetFlags("plan", args, &fleet) ||
      !PathUnderRootFlag("plan", args, "fetched", "", &fetched)) {
    return 2;
  }
  // A fleet node's policy as apply would choose it (nothing is kept: plan
  // changes nothing); where it came from goes to stderr.
  auto choice =
      run::ChoosePolicy(fs, args.Get("policy"), CredentialsDir(), fleet, inv.system.identity,
                        "/var/lib/gpuhost", run::GetterFor(fs, fetched));
  if (!choice.origin.url_template.empty()) {
    Err("plan", "policy from " + choice.origin.source + " " + choice.origin.url);
    for (const auto& k : choice.origin.skipped) {
      Err("plan", "  passed over " + k.source + " " + k.url + ": " + k.reason);
    }
  }
  const auto& policy = choice.policy;
  Status fits = policy.ok() ? plan::CheckPolicyFits(*policy, inv) : policy.status();
  if (!fits.ok()) {
    Err("plan", fits.message());
    return 1;
  }
  plan::Plan p = plan::MakePlan(inv, *policy);
  std::string out = args.Has("json") ? plan::ToJson(p).dump(2) + "\n" : plan::ToText(inv, p);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int RunApply(const Args& args) {
  run::RunOptions o;
  o.root = args.Get("root", "/");
  o.policy_file = args.Get("policy");
  o.credentials_dir = CredentialsDir();
  o.dry_run = args.Has("dry-run");
  o.state_dir = args.Get("state-dir", "/var/lib/gpuhost");
  o.print_json = args.Has("json");
  if (!FleetFlags("apply", args, &o.fleet) ||
      !PathUnderRootFlag("apply", args, "fetched", "", &o.fetched)) {
    return 2;
  }
  return run::RunAgent(o);
}

int RunRestore(const Args& args) {
  RootFs fs(args.Get("root", "/"));
  run::LoadedInventory loaded;
  if (!Load("restore", fs, {}, &loaded)) return 1;
  const inventory::Inventory& inv = loaded.inv;
  auto results = apply::Restore(fs, inv, args.Get("state-dir", "/var/lib/gpuhost"));
  int bad = 0;
  for (const auto& r : results) {
    result::JournalAction(r);
    std::printf("%s: %s%s%s\n", r.action.Target().c_str(), result::ToString(r.outcome),
                r.message.empty() ? "" : ": ", r.message.c_str());
    if (result::IsFailure(r.outcome)) bad++;
  }
  if (results.empty()) std::printf("nothing to restore: gpuhost moved no device\n");
  std::printf(
      "Note: the policy still applies at the next boot or apply; change it to keep this.\n");
  return bad == 0 ? 0 : 1;
}

int RunGpuStatus(const Args& args) {
  RootFs fs(args.Get("root", "/"));
  run::LoadedInventory loaded;
  if (!Load("gpu-status", fs, {}, &loaded)) return 1;
  const inventory::Inventory& inv = loaded.inv;
  std::vector<inventory::PciAddress> nvidia;
  for (const auto& g : inv.gpus) {
    const auto* f = inv.Find(g.address);
    if (f != nullptr && f->vendor_id == 0x10de) nvidia.push_back(g.address);
  }
  // No NVIDIA GPU on the PCI bus: nothing to ask NVML (and no driver error to show).
  if (nvidia.empty() && !args.Has("json")) {
    std::printf("no NVIDIA GPU found\n");
    return 0;
  }
  nvml::Report rep = nvml::Read(nvidia);
  if (args.Has("json")) {
    std::printf("%s\n", nvml::ToJson(rep).dump(2).c_str());
  } else if (!rep.available) {
    std::printf("%s\n", rep.error.c_str());
  } else {
    std::printf("NVIDIA driver %s, %zu GPU(s)\n", rep.driver_version.c_str(), rep.gpus.size());
    for (const auto& g : rep.gpus) {
      if (!g.error.empty()) {
        std::printf("  %s: %s\n", g.address.c_str(), g.error.c_str());
        continue;
      }
      std::printf(
          "  %s  %s  %llu/%llu MiB used  gpu %u%%  mem %u%%  %u C  MIG %s\n", g.address.c_str(),
          g.name.c_str(), static_cast<unsigned long long>(g.memory_used_bytes.value_or(0) >> 20),
          static_cast<unsigned long long>(g.memory_total_bytes.value_or(0) >> 20),
          g.utilization_gpu_percent.value_or(0), g.utilization_memory_percent.value_or(0),
          g.temperature_c.value_or(0), g.mig_enabled ? (*g.mig_enabled ? "on" : "off") : "n/a");
    }
  }
  return rep.available || nvidia.empty() ? 0 : 1;
}

int RunHolders(const Args& args) {
  auto addr = inventory::PciAddress::Parse(args.Get("address"));
  if (!addr) {
    Err("holders", "--address must be a PCI address like 0000:65:00.0");
    return 2;
  }
  RootFs fs(args.Get("root", "/"));
  run::LoadedInventory loaded;
  if (!Load("holders", fs, {}, &loaded)) return 1;
  const inventory::Inventory& inv = loaded.inv;
  const auto* f = inv.Find(*addr);
  if (f == nullptr) {
    Err("holders", "no PCI function " + addr->ToString());
    return 1;
  }
  for (const auto& n : apply::DeviceNodes(fs, *f)) std::printf("node %s\n", n.c_str());
  auto holders = apply::FindHolders(fs, *f);
  for (const auto& h : holders) std::printf("held: %s\n", apply::Describe(h).c_str());
  if (holders.empty()) std::printf("free: nothing holds %s\n", addr->ToString().c_str());
  return 0;
}

int RunVerifyImage(const Args& args) {
  if (!args.Has("root")) {
    Err("verify-image", "--root DIR is required (the image tree)");
    return 2;
  }
  RootFs fs(args.Get("root"));
  std::optional<verify::ModuleSigner> signer;
  if (args.Has("signer-cert")) {
    auto s = verify::ReadModuleSigner(args.Get("signer-cert"));
    if (!s.ok()) {
      Err("verify-image", s.status().ToString());
      return 2;
    }
    signer = *s;
  }
  auto rep = verify::VerifyImage(fs, args.Has("nvidia"), signer ? &*signer : nullptr);
  std::printf("kernel %s\n", rep.kernel_release.c_str());
  for (const auto& f : rep.findings) {
    std::printf("  %-4s %s: %s\n", f.ok ? "ok" : (f.optional ? "warn" : "FAIL"), f.what.c_str(),
                f.detail.c_str());
  }
  std::printf("%s\n", rep.ok() ? "image ok" : "image has gaps");
  return rep.ok() ? 0 : 1;
}

// A serve file: the flag, else the credential (its file in
// $CREDENTIALS_DIRECTORY, if there), else the policy's.
std::string ServeFile(const Args& args, const char* flag, const char* credential,
                      const std::string& from_policy) {
  if (args.Has(flag)) return args.Get(flag);
  std::string dir = CredentialsDir();
  if (!dir.empty()) {
    std::string path = dir + "/" + credential;
    if (access(path.c_str(), F_OK) == 0) return path;
  }
  return from_policy;
}

// --max-connections and friends: a positive count, or the default.
bool CountFlag(const Args& args, const char* flag, int low, int* out, int high = 1000000) {
  if (!args.Has(flag)) return true;
  auto n = ParseInt(args.Get(flag));
  if (!n || *n < low || *n > high) {
    Err("serve", std::string("--") + flag + " '" + args.Get(flag) + "': want a whole number " +
                     std::to_string(low) + ".." + std::to_string(high));
    return false;
  }
  *out = static_cast<int>(*n);
  return true;
}

int RunServe(const Args& args) {
  report::ServeOptions opts;
  opts.listen = args.GetAll("listen");
  // The policy names the addresses and files; without one, loopback only.
  // Its /etc/gpuhost/policy.json is the one under --root, as for apply and
  // plan, beside the state.json this serves.
  RootFs fs(args.Get("root", "/"));
  auto policy = run::LoadPolicy(fs, "", CredentialsDir());
  plan::Policy::PageFiles files;
  if (!policy.ok()) {
    Err("serve",
        policy.status().message() + (opts.listen.empty() ? " (serving on 127.0.0.1:8080)" : ""));
    if (opts.listen.empty()) opts.listen.push_back("127.0.0.1:8080");
  } else {
    files = policy->page_files;
  }
  // The credential gpuhost.listen (addresses separated by spaces or lines) is
  // how one boot of an unchanged image serves beyond loopback (make run).
  if (opts.listen.empty()) {
    std::string cred = CredentialsDir().empty() ? "" : CredentialsDir() + "/gpuhost.listen";
    if (!cred.empty() && access(cred.c_str(), F_OK) == 0) {
      auto text = ReadFileAt(cred, 4096);
      if (!text.ok()) {
        Err("serve", "credential gpuhost.listen: " + text.status().message());
        return 1;
      }
      for (const auto& line : Split(*text, '\n')) {
        for (const auto& word : Split(line, ' ')) {
          if (!Trim(word).empty()) opts.listen.emplace_back(Trim(word));
        }
      }
      if (opts.listen.empty()) {
        Err("serve", "credential gpuhost.listen is empty");
        return 1;
      }
    } else if (policy.ok()) {
      opts.listen = policy->listen;
    }
  }
  opts.tls.cert = ServeFile(args, "tls-cert", "gpuhost.tls-cert", files.tls_cert);
  opts.tls.key = ServeFile(args, "tls-key", "gpuhost.tls-key", files.tls_key);
  opts.tls.client_ca = ServeFile(args, "client-ca", "gpuhost.client-ca", files.client_ca);
  opts.token_file = ServeFile(args, "token-file", "gpuhost.token", files.token_file);
  if (!CountFlag(args, "max-connections", 1, &opts.limits.max_connections) ||
      !CountFlag(args, "max-per-address", 1, &opts.limits.max_per_address) ||
      !CountFlag(args, "reserved-connections", 0, &opts.limits.reserved_connections) ||
      !CountFlag(args, "max-handshakes", 1, &opts.limits.max_handshakes) ||
      !CountFlag(args, "event-loops", 1, &opts.threads, 64)) {
    return 2;
  }
  opts.state_dir = args.Get("state-dir", "/var/lib/gpuhost");
  opts.root = args.Get("root", "/");
  opts.libvirt = !args.Has("no-libvirt");
  if (args.Has("libvirt-uri")) {
    // Named by the user: asked as it is (a test driver, a remote host).
    opts.libvirt_uri = args.Get("libvirt-uri");
    opts.libvirt_running = [] { return true; };
  }
  Status s = report::Serve(opts);
  if (!s.ok()) {
    Err("serve", s.ToString());
    return 1;
  }
  return 0;
}

}  // namespace gpuhost::cli
