// GET /metrics: Prometheus text exposition format 0.0.4, clean under
// `promtool check metrics`. docs/status-api.md lists every metric.
#pragma once

#include <string>
#include <string_view>

#include "report/view.h"

namespace gpuhost::report {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string RenderMetrics(const View& v);

// A label value with \, " and newline escaped as the format requires.
std::string EscapeLabelValue(std::string_view s);

// Seconds since the epoch of an RFC 3339 UTC time ("2026-11-25T10:00:00Z",
// fractional seconds allowed); -1 when it is not one.
double ParseRfc3339Utc(const std::string& s);

}  // namespace gpuhost::report
