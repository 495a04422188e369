#include "report/bless.h"

#include "report/snapshot.h"
#include "result/run_marker.h"

namespace gpuhost::report {

BlessDecision JudgeBoot(const View& v) {
  Health h = Evaluate(v);
  BlessDecision d;
  d.blessed = h.http_status == 200;
  d.reason = h.reason.empty() ? h.status : h.status + ": " + h.reason;
  if (h.status == "no-state") d.reason = h.reason;  // "no state yet: ...", as /healthz
  return d;
}

View LoadThisBootView(const Fs& root, const std::string& state_dir) {
  View v = LoadView(root.HostPath(state_dir + "/state.json"), "", {});
  v.boot_id = result::ReadBootId(root).value_or("");
  auto marker = result::ReadRunMarker(root);
  if (marker.ok()) {
    v.run_marker = std::move(*marker);
  } else if (!marker.status().IsNotFound()) {
    v.run_marker_error = marker.status().message();
  }
  return v;
}

}  // namespace gpuhost::report
