// The real gpuhost-agent binary, as a user or a unit runs it.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

std::string Agent(const std::string& args, int* status) {
  return RunCommand("'" + AgentBinary() + "' " + args + " 2>&1", status);
}

TEST(AgentCliTest, EveryCommandHasHelp) {
  int st = -1;
  std::string top = Agent("--help", &st);
  EXPECT_EQ(st, 0);
  for (const char* cmd : {"inventory", "capture", "serve"}) {
    EXPECT_NE(top.find(cmd), std::string::npos);
    std::string help = Agent(std::string(cmd) + " --help", &st);
    EXPECT_EQ(st, 0) << cmd;
    EXPECT_NE(help.find("Usage: gpuhost-agent " + std::string(cmd)), std::string::npos) << help;
  }
}

TEST(AgentCliTest, BadUsageExitsTwoAndSaysWhy) {
  int st = -1;
  EXPECT_NE(Agent("inventory --frobnicate", &st).find("--frobnicate"), std::string::npos);
  EXPECT_EQ(st, 2);
  Agent("no-such-command", &st);
  EXPECT_EQ(st, 2);
  EXPECT_NE(Agent("capture", &st).find("--out"), std::string::npos);
  EXPECT_EQ(st, 2);
}

TEST(AgentCliTest, InventoryJsonToFileAndCapture) {
  TempDir dir;
  std::string tree = TestDataDir() + "/captures/h200-firecracker/tree";
  int st = -1;
  Agent("inventory --root '" + tree + "' --json --out '" + dir.path() + "/inv.json'", &st);
  ASSERT_EQ(st, 0);
  auto j = nlohmann::json::parse(RunCommand("cat '" + dir.path() + "/inv.json'"));
  EXPECT_EQ(j["gpus"].size(), 1u);
  std::string text = Agent("inventory --root '" + tree + "'", &st);
  EXPECT_EQ(st, 0);
  EXPECT_NE(text.find("0000:00:06.0  3d"), std::string::npos) << text;
  Agent("capture --root '" + tree + "' --out '" + dir.path() + "/cap'", &st);
  ASSERT_EQ(st, 0);
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/cap/sys/bus/pci/devices/0000:00:06.0"));
}

TEST(AgentCliTest, CaptureRefusesADirectoryThatIsNotEmpty) {
  TempDir dir;
  std::string tree = TestDataDir() + "/captures/h200-firecracker/tree";
  std::filesystem::create_directories(dir.path() + "/cap/old");
  int st = -1;
  std::string out = Agent("capture --root '" + tree + "' --out '" + dir.path() + "/cap'", &st);
  EXPECT_EQ(st, 2) << out;
  EXPECT_NE(out.find("is not empty: --out takes a new or empty directory"), std::string::npos)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/cap/sys"));
  std::filesystem::remove(dir.path() + "/cap/old");
  Agent("capture --root '" + tree + "' --out '" + dir.path() + "/cap'", &st);
  EXPECT_EQ(st, 0) << "an empty directory is fine";
}

TEST(AgentCliTest, GpuStatusWithoutAnNvidiaGpuSaysSoAndSucceeds) {
  // The H200 capture without its GPU: the machine the nvidia image boots on under qemu.
  TempDir dir;
  std::filesystem::copy(
      TestDataDir() + "/captures/h200-firecracker/tree", dir.path() + "/tree",
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks);
  std::filesystem::remove(dir.path() + "/tree/sys/bus/pci/devices/0000:00:06.0");
  int st = -1;
  std::string out = Agent("gpu-status --root '" + dir.path() + "/tree'", &st);
  EXPECT_EQ(st, 0);
  EXPECT_EQ(out, "no NVIDIA GPU found\n");
}

TEST(AgentCliTest, UnreadableRootFailsWithNonZeroExit) {
  TempDir dir;
  int st = -1;
  std::string out = Agent("inventory --root '" + dir.path() + "'", &st);
  EXPECT_EQ(st, 1);
  EXPECT_NE(out.find("/sys/bus/pci"), std::string::npos) << out;
}

// Before, a missing root gave an empty inventory, written over --out's file
// before the error; now the command stops first and says which root.
TEST(AgentCliTest, InventoryOfAMissingRootWritesNoOutFileAndNamesTheRoot) {
  TempDir dir;
  const std::string root = dir.path() + "/not-there";
  int st = -1;
  std::string out =
      Agent("inventory --json --root '" + root + "' --out '" + dir.path() + "/inv.json'", &st);
  EXPECT_EQ(st, 1) << out;
  EXPECT_EQ(out.rfind("gpuhost-agent inventory: cannot read /sys/bus/pci under " + root + ": ", 0),
            0u)
      << out;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/inv.json"));
}

}  // namespace
}  // namespace gpuhost::testing
