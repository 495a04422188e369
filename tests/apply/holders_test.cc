// apply's holders gate reads the same facts as the inventory's critical
// devices (inventory/block_use.h): mounts, swap and md/dm stacks on a
// controller hold it, and a storage or network controller whose host use is
// unknown is never bound, whatever plan asks for it.
#include "apply/holders.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "apply/apply.h"
#include "apply/apply_helpers.h"
#include "inventory/inventory_test_util.h"
#include "plan/plan.h"
#include "plan/plan_fixtures.h"
#include "support/fake_kernel_fs.h"
#include "support/sysfs_builder.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using result::Outcome;

constexpr const char* kAhci = "0000:00:17.0";  // in the AMD GPU's group 5

std::vector<std::string> HoldersOf(const std::string& root, const std::string& address) {
  RootFs fs(root);
  inventory::PciFunction f;
  f.address = *inventory::PciAddress::Parse(address);
  f.driver = "ahci";
  std::vector<std::string> out;
  for (const auto& h : apply::FindHolders(fs, f)) out.push_back(apply::Describe(h));
  return out;
}

class HoldersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BuildGpuServer(dir_.path());
    SysfsBuilder b(dir_.path());
    b.Add(Fn(kAhci, 0x8086, 0xa352, 0x010601, "", "ahci", 5));
    b.AddDisk(kAhci, "sda", "8:0");
    b.AddPartition("sda", "sda1", "8:1");
    b.AddPartition("sda", "sda2", "8:2");
  }
  TempDir dir_;
};

TEST_F(HoldersTest, FreeControllerHasNoHolders) {
  EXPECT_TRUE(HoldersOf(dir_.path(), kAhci).empty());
}

TEST_F(HoldersTest, SwapHoldsItsController) {
  SysfsBuilder b(dir_.path());
  b.Write("/proc/swaps",
          "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
          "/dev/sda2                               partition\t8388604\t\t0\t\t-2\n");
  EXPECT_EQ(HoldersOf(dir_.path(), kAhci), (std::vector<std::string>{"/dev/sda2 used as swap"}));
}

TEST_F(HoldersTest, MountedMdArrayHoldsItsMembersController) {
  SysfsBuilder b(dir_.path());
  b.AddStack("md0", "9:0", {"sda1", "sda2"});
  b.AddMount("9:0", "/srv", "/dev/md0");
  // Two members on one controller: one holder.
  EXPECT_EQ(HoldersOf(dir_.path(), kAhci),
            (std::vector<std::string>{"file system mounted on /srv"}));
}

TEST_F(HoldersTest, ActiveLogicalVolumeHoldsItsDisk) {
  SysfsBuilder b(dir_.path());
  b.AddStack("dm-4", "253:4", {"sda2"}, "vg-vm1");
  EXPECT_EQ(HoldersOf(dir_.path(), kAhci),
            (std::vector<std::string>{"/dev/sda2 in dm-4 (vg-vm1), active"}));
}

// A plan made while the facts were known, applied when mountinfo cannot be
// read: the storage controller is held, and so is its group.
TEST_F(HoldersTest, UnknownStorageUseHoldsEveryStorageControllerAtApply) {
  inventory::Inventory inv = CollectFromRoot(dir_.path());
  plan::Plan p = plan::MakePlan(inv, plan::Policy());
  bool planned = false;
  for (const auto& a : p.actions) planned = planned || a.Target() == kAhci;
  ASSERT_TRUE(planned);
  inv.host_use_unknown.push_back(
      {inventory::UseClass::kStorage, "/proc/self/mountinfo", "cannot be read: gone"});
  FakeKernelFs fs(dir_.path());
  FakeModuleLoader modules(fs);
  NoCommands commands;
  apply::Env env{fs, modules, commands, nullptr, nullptr};
  apply::Options opts;
  opts.live = true;
  result::State st = apply::Apply(inv, p, env, opts);
  bool held = false;
  for (const auto& a : st.actions) {
    if (a.action.Kind() == plan::ActionKind::kBindVfio && a.action.Target() == kAhci) {
      held = a.outcome == Outcome::kHeld &&
             a.message.find("the host's use of it is unknown (/proc/self/mountinfo") !=
                 std::string::npos;
      EXPECT_TRUE(held) << a.outcome << ": " << a.message;
    }
  }
  EXPECT_TRUE(held);
  EXPECT_EQ(RunCommand("basename \"$(readlink '" + dir_.path() + "/sys/bus/pci/devices/" + kAhci +
                       "/driver')\""),
            "ahci\n");
}

}  // namespace
}  // namespace gpuhost::testing
