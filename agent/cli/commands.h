// One function per subcommand; main.cc only dispatches. Each returns the
// process exit status: 0 success, 1 the work failed, 2 bad usage.
#pragma once

#include "cli/args.h"

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

}  // namespace gpuhost::cli
