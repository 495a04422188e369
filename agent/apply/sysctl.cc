#include "apply/apply.h"
#include "base/strings.h"

namespace gpuhost::apply {

// "net.ipv4.conf.all.rp_filter" -> /proc/sys/net/ipv4/conf/all/rp_filter.
void SetSysctl(Fs& fs, const std::string& key, const std::string& value, report::ActionResult* r,
               report::Check* check) {
  std::string path = "/proc/sys/";
  for (char c : key) path += c == '.' ? '/' : c;
  check->name = key;
  check->wanted = value;
  auto before = fs.Read(path);
  if (!before.ok()) {
    // Yama, say, is not in every kernel: nothing to set, nothing to weaken.
    r->outcome = "skipped";
    r->message = "not in this kernel (" + path + " absent)";
    check->actual = "absent";
    check->ok = false;
    return;
  }
  if (Trim(*before) == value) {
    r->outcome = "unchanged";
    check->actual = value;
    check->ok = true;
    return;
  }
  if (Status s = fs.WriteAttribute(path, value, true); !s.ok()) {
    r->outcome = "failed";
    r->message = s.ToString();
  }
  auto after = fs.Read(path);
  check->actual = after.ok() ? std::string(Trim(*after)) : after.status().ToString();
  check->ok = after.ok() && Trim(*after) == value;
  if (r->outcome != "failed") {
    r->outcome = check->ok ? "done" : "failed";
    if (!check->ok) r->message = "read back '" + check->actual + "'";
  }
}

}  // namespace gpuhost::apply
