// GET /api/v1/status: the status page as JSON. docs/status-api.md describes
// every field; fields are only ever added within api_version 1.
#pragma once

#include <nlohmann/json.hpp>

#include "report/view.h"

namespace gpuhost::report {

inline constexpr int kStatusApiVersion = 1;

nlohmann::json StatusJson(const View& v);

}  // namespace gpuhost::report
