#include "apply/apply.h"
#include "base/strings.h"

namespace gpuhost::apply {

using result::Outcome;

// "net.ipv4.conf.all.rp_filter" -> /proc/sys/net/ipv4/conf/all/rp_filter.
void SetSysctl(Fs& fs, const std::string& key, const std::string& value, result::ActionResult* r,
               result::Check* check) {
  std::string path = "/proc/sys/";
  for (char c : key) path += c == '.' ? '/' : c;
  check->name = key;
  check->wanted = value;
  auto before = fs.Read(path);
  if (!before.ok()) {
    // Yama, say, is not in every kernel: nothing to set, nothing to weaken.
    r->outcome = Outcome::kSkipped;
    r->message = "not in this kernel (" + path + " absent)";
    check->actual = "absent";
    check->ok = false;
    return;
  }
  if (Trim(*before) == value) {
    r->outcome = Outcome::kUnchanged;
    check->actual = value;
    check->ok = true;
    return;
  }
  if (Status s = fs.WriteAttribute(path, value, true); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = s.ToString();
  }
  auto after = fs.Read(path);
  check->actual = after.ok() ? std::string(Trim(*after)) : after.status().ToString();
  check->ok = after.ok() && Trim(*after) == value;
  if (r->outcome != Outcome::kFailed) {
    r->outcome = check->ok ? Outcome::kDone : Outcome::kFailed;
    if (!check->ok) r->message = "read back '" + check->actual + "'";
  }
}

}  // namespace gpuhost::apply
