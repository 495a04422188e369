// Helpers for inventory tests: collect from a tree or a dump, compare with lspci.
#pragma once

#include <map>
#include <string>

#include "inventory/inventory.h"

namespace gpuhost::testing {

inventory::Inventory CollectFromRoot(const std::string& root);
inventory::Inventory CollectFromDump(const std::string& dump);
// Every function lspci lists is in the inventory with the same class,
// vendor:device and revision, and nothing more.
void ExpectMatchesLspci(const inventory::Inventory& inv,
                        const std::map<std::string, std::string>& lspci);
const inventory::Gpu* FindGpu(const inventory::Inventory& inv, const std::string& address);
// Warnings whose `where` is `address`, joined with "; ".
std::string WarningsFor(const inventory::Inventory& inv, const std::string& where);

}  // namespace gpuhost::testing
