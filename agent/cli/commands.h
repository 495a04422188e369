// One function per subcommand; main.cc only dispatches. Each returns the
// process exit status: 0 success, 1 the work failed, 2 bad usage.
#pragma once

#include "cli/args.h"
#include "run/policy_fetch.h"

namespace gpuhost::cli {

struct Command {
  const char* name;
  const char* summary;
  const char* usage;  // the line after "gpuhost-agent NAME"
  std::vector<OptionSpec> options;
  int (*run)(const Args& args);
};

const std::vector<Command>& Commands();

// $CREDENTIALS_DIRECTORY (systemd's credentials for this unit), "" outside one.
std::string CredentialsDir();
// "gpuhost-agent CMD: MSG" on stderr: how every command says what went wrong.
void Err(const char* cmd, const std::string& msg);
// --policy-url and its friends (docs/fleet.md) into `out`, or false once it
// said what is wrong (a bad --policy-timeout-ms).
bool FleetFlags(const char* cmd, const Args& args, run::FleetOptions* out);
// A file flag that names a path under --root (--fetched, --out): the flag
// or `fallback`, which must be absolute; false once it said otherwise.
bool PathUnderRootFlag(const char* cmd, const Args& args, const char* flag,
                       const std::string& fallback, std::string* out);

int RunInventory(const Args& args);
int RunCapture(const Args& args);
int RunPlan(const Args& args);
int RunApply(const Args& args);
int RunRestore(const Args& args);
int RunGpuStatus(const Args& args);
int RunHolders(const Args& args);
int RunVerifyImage(const Args& args);
int RunServe(const Args& args);
int RunRemoteLibvirt(const Args& args);  // cli/remote_command.cc
int RunCheckPolicy(const Args& args);    // cli/policy_commands.cc
int RunFetchPolicy(const Args& args);    // cli/fetch_command.cc
int RunBless(const Args& args);          // cli/bless_command.cc
int RunPinVfio(const Args& args);        // cli/pin_command.cc
int RunUpdateSource(const Args& args);   // cli/update_source_command.cc
int RunUpdateCommand(const Args& args);  // cli/update_command.cc

}  // namespace gpuhost::cli
