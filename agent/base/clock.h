// Wall-clock time as the state file, the API and the journal write it.
#pragma once

#include <string>

namespace gpuhost {

// Now, as RFC 3339 UTC with seconds: "2026-11-26T04:59:59Z".
std::string NowRfc3339Utc();

}  // namespace gpuhost
