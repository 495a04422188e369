// GET /: the status page. Plain HTML with one inline style sheet: readable
// without JavaScript (the CSP forbids scripts) and without external files.
#pragma once

#include <string>
#include <string_view>

#include "report/view.h"

namespace gpuhost::report {

// &, <, >, " and ' escaped: everything from the machine is untrusted text.
std::string HtmlEscape(std::string_view s);

std::string RenderPage(const View& v);

}  // namespace gpuhost::report
