// The inventory as a person at a console reads it: a summary, then tables.
#pragma once

#include <string>

#include "inventory/model.h"

namespace gpuhost::inventory {

std::string ToText(const Inventory& inv);

}  // namespace gpuhost::inventory
