// The state file reader (result/state.cc) and everything serve builds from
// what it read: /healthz, the page, the JSON API and the metrics. The input
// takes the path serve's LoadView takes: bytes -> JSON -> StateFromJson.
// An accepted state must also write back and read again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "report/snapshot.h"
#include "result/state.h"

using namespace gpuhost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto state = result::StateFromJson(j);
  if (!state.ok()) return 0;
  nlohmann::json out = result::StateToJson(*state);
  auto again = result::StateFromJson(out);
  if (!again.ok() || result::StateToJson(*again) != out) {
    std::fprintf(stderr, "state JSON does not round-trip: %s\n",
                 again.ok() ? "written differently" : again.status().ToString().c_str());
    std::abort();
  }
  report::View v;
  v.source = report::View::Source::kLoaded;
  v.state_path = "/var/lib/gpuhost/state.json";
  v.hostname = "fuzz";
  v.state = std::move(*state);
  report::Render(v);
  return 0;
}
