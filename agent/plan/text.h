// The plan as a person reads it: GPU decisions, then the ordered actions.
#pragma once

#include <string>

#include "inventory/model.h"
#include "plan/model.h"

namespace gpuhost::plan {

std::string ToText(const inventory::Inventory& inv, const Plan& plan);

}  // namespace gpuhost::plan
