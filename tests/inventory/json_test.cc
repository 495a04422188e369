#include "inventory/json.h"

#include <gtest/gtest.h>

#include "inventory/inventory_test_util.h"
#include "plan/plan_fixtures.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

TEST(InventoryJsonTest, RoundTripsARealCapture) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  nlohmann::json j = inventory::ToJson(inv);
  auto back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(inventory::ToJson(*back), j);
}

TEST(InventoryJsonTest, DocumentedShape) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  nlohmann::json j = inventory::ToJson(inv);
  EXPECT_EQ(j["schema_version"], 1);
  const auto& gpu = j["gpus"][0];
  EXPECT_EQ(gpu["address"], "0000:00:06.0");
  EXPECT_EQ(gpu["kind"], "3d");
  EXPECT_TRUE(gpu["numa_node"].is_null());
  const auto& f = j["functions"][6];
  EXPECT_EQ(f["vendor_id"], "10de");
  EXPECT_EQ(f["class"], "0302");
  EXPECT_EQ(f["driver"], "nvidia");
  EXPECT_EQ(f["role"], "gpu");
  EXPECT_TRUE(j["system"]["kvm_device"].get<bool>());
}

TEST(InventoryJsonTest, NumaNodesCpusRoundTripAndMayBeAbsent) {
  TempDir root;
  BuildGpuServer(root.path());
  auto inv = CollectFromRoot(root.path());
  ASSERT_EQ(inv.system.numa_cpus.size(), 2u);
  EXPECT_EQ(inv.system.numa_cpus.at(1), "16-31,48-63");
  nlohmann::json j = inventory::ToJson(inv);
  EXPECT_EQ(j["system"]["numa_cpus"]["0"], "0-15,32-47");
  auto back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->system.numa_cpus, inv.system.numa_cpus);
  // A state file from an agent before numa_cpus and virt_type still reads.
  j["system"].erase("numa_cpus");
  j["virtualization"].erase("virt_type");
  back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->system.numa_cpus.empty());
  j["system"]["numa_cpus"] = {{"one", "0-3"}};
  back = inventory::InventoryFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("numa_cpus entry 'one'"), std::string::npos);
}

TEST(InventoryJsonTest, HostUseUnknownRoundTripsAndMayBeAbsent) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  ASSERT_FALSE(inv.host_use_unknown.empty());
  nlohmann::json j = inventory::ToJson(inv);
  EXPECT_EQ(j["host_use_unknown"][0]["class"], "storage");
  EXPECT_EQ(j["host_use_unknown"][0]["source"], "/proc/swaps");
  EXPECT_EQ(j["host_use_unknown"][1]["class"], "network");
  EXPECT_EQ(j["critical"][1]["why"], "/dev/vdb mounted at /usr/local/nvidia");
  auto back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->host_use_unknown, inv.host_use_unknown);
  // A state file from an agent before host_use_unknown still reads.
  j.erase("host_use_unknown");
  back = inventory::InventoryFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->host_use_unknown.empty());
  j["host_use_unknown"] = {{{"class", "gpu"}, {"source", "x"}, {"why", "y"}}};
  back = inventory::InventoryFromJson(j);
  ASSERT_FALSE(back.ok());
  EXPECT_NE(back.status().message().find("host_use_unknown class 'gpu'"), std::string::npos);
}

TEST(InventoryJsonTest, BadInputNamesTheField) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  nlohmann::json j = inventory::ToJson(inv);
  j["functions"][0]["vendor_id"] = 12;
  auto r = inventory::InventoryFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("vendor_id"), std::string::npos);
  j = inventory::ToJson(inv);
  j.erase("system");
  r = inventory::InventoryFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("'system'"), std::string::npos);
  j = inventory::ToJson(inv);
  j["gpus"][0]["address"] = "not-an-address";
  EXPECT_FALSE(inventory::InventoryFromJson(j).ok());
}

// Found by fuzz/inventory_json_fuzz: a GPU (or its companion) that is not
// among the functions was accepted, and `inventory` text and everything
// else that looks the GPU's function up then dereferenced null.
TEST(InventoryJsonTest, GpusMustBeAmongTheFunctions) {
  auto inv = CollectFromRoot(TestDataDir() + "/captures/h200-firecracker/tree");
  nlohmann::json j = inventory::ToJson(inv);
  j["functions"] = nlohmann::json::array();
  auto r = inventory::InventoryFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("gpus[0] 0000:00:06.0 is not among the functions"),
            std::string::npos)
      << r.status().ToString();
  j = inventory::ToJson(inv);
  j["gpus"][0]["companions"] = {"0000:7f:1f.7"};
  r = inventory::InventoryFromJson(j);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("companion 0000:7f:1f.7"), std::string::npos)
      << r.status().ToString();
}

}  // namespace
}  // namespace gpuhost::testing
