#include "inventory/inventory_test_util.h"

#include <gtest/gtest.h>

#include "base/strings.h"
#include "host/fs.h"

namespace gpuhost::testing {

inventory::Inventory CollectFromRoot(const std::string& root) {
  RootFs fs(root);
  inventory::Inventory inv;
  Status s = inventory::Collect(fs, {}, &inv);
  EXPECT_TRUE(s.ok()) << root << ": " << s.ToString();
  return inv;
}

inventory::Inventory CollectFromDump(const std::string& dump) {
  RootFs fs("/nonexistent-root");
  inventory::Inventory inv;
  Status s = inventory::Collect(fs, {dump, ""}, &inv);
  EXPECT_TRUE(s.ok()) << dump << ": " << s.ToString();
  return inv;
}

void ExpectMatchesLspci(const inventory::Inventory& inv,
                        const std::map<std::string, std::string>& lspci) {
  ASSERT_FALSE(lspci.empty()) << "lspci listed nothing: the reference is broken";
  std::map<std::string, std::string> ours;
  for (const auto& f : inv.functions) {
    ours[f.address.ToString()] = Hex(f.class_id, 4) + " " + Hex(f.vendor_id, 4) + ":" +
                                 Hex(f.device_id, 4) + " " + Hex(f.revision, 2);
  }
  EXPECT_EQ(ours, lspci);
}

const inventory::Gpu* FindGpu(const inventory::Inventory& inv, const std::string& address) {
  for (const auto& g : inv.gpus) {
    if (g.address.ToString() == address) return &g;
  }
  return nullptr;
}

std::string WarningsFor(const inventory::Inventory& inv, const std::string& where) {
  std::string out;
  for (const auto& w : inv.warnings) {
    if (w.where == where) out += (out.empty() ? "" : "; ") + w.message;
  }
  return out;
}

}  // namespace gpuhost::testing
