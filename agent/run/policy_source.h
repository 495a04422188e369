// Finds the policy and reads it; plan/policy.h parses what this reads.
#pragma once

#include <string>

#include "base/status.h"
#include "host/fs.h"
#include "plan/policy.h"

namespace gpuhost::run {

// Where the policy comes from, first found wins: `explicit_path` (--policy),
// $CREDENTIALS_DIRECTORY/gpuhost.policy, /etc/gpuhost/policy.json under fs's
// root, else the built-in defaults. The first two are paths on the real file
// system, outside any --root tree (the operator's file, systemd's credential),
// so they are read with base's ReadFileAt; /etc goes through fs. A file that
// is there but cannot be read or parsed is an error, never a fallback.
Result<plan::Policy> LoadPolicy(const Fs& fs, const std::string& explicit_path,
                                const std::string& credentials_dir);

}  // namespace gpuhost::run
