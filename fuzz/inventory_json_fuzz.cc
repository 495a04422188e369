// The inventory JSON reader (inventory/json.cc): `inventory --json` output
// read back from state files. What it accepts must write back to the same
// JSON, read again to the same thing, and render as text without crashing.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "inventory/json.h"
#include "inventory/text.h"

using namespace gpuhost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  auto inv = inventory::InventoryFromJson(j);
  if (!inv.ok()) return 0;
  inventory::ToText(*inv);
  nlohmann::json out = inventory::ToJson(*inv);
  auto again = inventory::InventoryFromJson(out);
  if (!again.ok() || inventory::ToJson(*again) != out) {
    std::fprintf(stderr, "inventory JSON does not round-trip: %s\n",
                 again.ok() ? "written differently" : again.status().ToString().c_str());
    std::abort();
  }
  return 0;
}
