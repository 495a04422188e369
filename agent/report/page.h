// The status page: plain HTML, readable without JavaScript or CSS files.
#pragma once

#include <string>
#include <string_view>

#include "inventory/model.h"

namespace gpuhost::report {

// &, <, >, " and ' escaped: everything from the machine is untrusted text.
std::string HtmlEscape(std::string_view s);

std::string RenderPage(const inventory::Inventory& inv, const std::string& hostname);

}  // namespace gpuhost::report
