#include "run/policy_source.h"

#include "base/fileio.h"

namespace gpuhost::run {
namespace {

constexpr size_t kMaxPolicyBytes = 1 << 20;

}  // namespace

Result<plan::Policy> LoadPolicy(const Fs& fs, const std::string& explicit_path,
                                const std::string& credentials_dir) {
  // --policy FILE: a path the user named on the real file system, never
  // under --root (a tree being built has no say in which policy it gets).
  if (!explicit_path.empty()) {
    auto text = ReadFileAt(explicit_path, kMaxPolicyBytes);
    if (!text.ok()) return text.status();
    return plan::ParsePolicy(*text, explicit_path);
  }
  // systemd's credential: $CREDENTIALS_DIRECTORY is a directory systemd
  // made for this process on the real file system, whatever the --root.
  if (!credentials_dir.empty()) {
    auto text = ReadFileAt(credentials_dir + "/gpuhost.policy", kMaxPolicyBytes);
    if (text.ok()) return plan::ParsePolicy(*text, "credential gpuhost.policy");
    if (!text.status().IsNotFound()) return text.status();
  }
  // The machine's own policy: under the root, through fs (a jail on a tree).
  auto text = fs.Read("/etc/gpuhost/policy.json");
  if (text.ok()) return plan::ParsePolicy(*text, "/etc/gpuhost/policy.json");
  if (!text.status().IsNotFound()) return text.status();
  return plan::Policy();
}

}  // namespace gpuhost::run
