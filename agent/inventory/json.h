// The stable JSON form of an inventory (docs/inventory-json.md). Field names
// never change meaning within a schema_version; new fields may be added.
#pragma once

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

inline constexpr int kInventorySchemaVersion = 1;

nlohmann::json ToJson(const Inventory& inv);
// The same object in the inventory and in /api/v1/status's machine section.
nlohmann::json ToJson(const RemoteLibvirt& r);
// Reads back what ToJson wrote (for state files and tests). Invalid names
// the first field that is missing or of the wrong type.
Result<Inventory> InventoryFromJson(const nlohmann::json& j);

}  // namespace gpuhost::inventory
