// gpuhost-agent fetch-policy: the network side of a fleet node's policy
// (gpuhost-policy-fetch.service, no capabilities). It asks the policy URLs
// as apply would choose among them and records every answer
// (run/fetch_record.h); apply, which holds the capabilities and has no IP
// sockets, makes its choice from that record. Its own file: only this
// command talks to a policy server from a unit.
#include <cstdio>

#include "cli/commands.h"
#include "fetch/https_get.h"
#include "fleet/policy_origin.h"
#include "host/fs.h"
#include "inventory/identity_scan.h"
#include "result/run_marker.h"
#include "run/fetch_record.h"
#include "run/policy_fetch.h"

namespace gpuhost::cli {
namespace {

constexpr const char* kCmd = "fetch-policy";

const run::FetchAnswer* AnswerFor(const std::vector<run::FetchAnswer>& answers,
                                  const std::string& url) {
  for (const auto& a : answers) {
    if (a.url == url) return &a;
  }
  return nullptr;
}

// One line per URL source, in the order they were tried: passed over, used
// (its size), or what fails the run.
void PrintSources(const run::PolicyChoice& c, const std::vector<run::FetchAnswer>& answers) {
  for (const auto& k : c.origin.skipped) {
    if (k.source == fleet::kSourceLastGood) continue;
    std::printf("%s %s: passed over: %s\n", k.source.c_str(), k.url.c_str(), k.reason.c_str());
  }
  const std::string& src = c.origin.source;
  if (src != fleet::kSourceNode && src != fleet::kSourceFleetDefault) return;
  const run::FetchAnswer* a = AnswerFor(answers, c.origin.url);
  if (a != nullptr && a->answer.ok()) {
    std::printf("%s %s: 200, %zu bytes\n", src.c_str(), c.origin.url.c_str(), a->answer->size());
  } else if (a != nullptr) {
    std::printf("%s %s: refused: %s\n", src.c_str(), c.origin.url.c_str(),
                a->answer.status().message().c_str());
  }
}

// What apply will do with the same record (before its host checks, such as
// hugepages against memory).
void PrintChoice(const run::PolicyChoice& c) {
  if (!c.policy.ok()) {
    std::printf("apply will fail the run: %s\n", c.policy.status().message().c_str());
    return;
  }
  const std::string& where = !c.origin.url.empty() ? c.origin.url : c.origin.file;
  std::printf("apply will use the %s policy%s%s%s\n", c.origin.source.c_str(),
              where.empty() ? "" : " ", where.c_str(),
              c.warnings.empty() ? "" : " (the run is degraded: no policy fetched)");
}

}  // namespace

int RunFetchPolicy(const Args& args) {
  run::FleetOptions fleet;
  std::string out;
  if (!FleetFlags(kCmd, args, &fleet) ||
      !PathUnderRootFlag(kCmd, args, "out", run::kFetchRecordPath, &out)) {
    return 2;
  }
  RootFs fs(args.Get("root", "/"));
  // The ids apply fills the template with: the same reader its inventory
  // uses, without the rest of the inventory (PCI, libvirt), which this
  // process has no business with.
  inventory::Identity ids = inventory::ScanIdentity(fs);
  run::RecordingGetter recorder(fetch::HttpsGet);
  // The last good policy is read, never written: keeping it is apply's,
  // once the policy passed the host's checks.
  run::PolicyChoice choice = run::ChoosePolicy(fs, args.Get("policy"), CredentialsDir(), fleet, ids,
                                               "/var/lib/gpuhost", recorder);
  run::FetchRecord record;
  auto boot = result::ReadBootId(fs);
  if (boot.ok()) {
    record.boot_id = *boot;
  } else {
    Err(kCmd, boot.status().ToString() + ": apply will not use this record");
  }
  record.url_template = choice.origin.url_template;
  record.answers = recorder.answers();
  if (Status s = run::WriteRecord(fs, out, record); !s.ok()) {
    Err(kCmd, "cannot write the record: " + s.ToString());
    return 1;
  }
  if (choice.policy.ok() && choice.origin.url_template.empty()) {
    std::printf("no policy URL: nothing to fetch\n");
    return 0;
  }
  PrintSources(choice, record.answers);
  PrintChoice(choice);
  return 0;
}

}  // namespace gpuhost::cli
