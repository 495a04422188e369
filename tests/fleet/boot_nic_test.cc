// Which NIC's MAC fills {mac}: BOOTIF=, the default route's NIC (through a
// bridge or bond), the first NIC that is up, or none, with the reason.
#include "fleet/boot_nic.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

constexpr const char* kRouteHead =
    "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

class Tree {
 public:
  explicit Tree(const std::string& root) : root_(root) {
    Write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1\n");
  }
  void Write(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(root_ + path).parent_path());
    Status s = WriteFileAtomic(root_ + path, text, 0644);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Dir(const std::string& path) { std::filesystem::create_directories(root_ + path); }
  // An Ethernet interface; `hardware`: it has a device link.
  void Nic(const std::string& name, const std::string& mac, bool hardware = true,
           const std::string& operstate = "up") {
    Write("/sys/class/net/" + name + "/address", mac + "\n");
    Write("/sys/class/net/" + name + "/type", "1\n");
    Write("/sys/class/net/" + name + "/operstate", operstate + "\n");
    if (hardware) Dir("/sys/class/net/" + name + "/device");
  }
  void Lower(const std::string& upper, const std::string& lower) {
    Dir("/sys/class/net/" + upper + "/lower_" + lower);
  }
  // Routes: "iface dest flags metric mask" rows.
  void Routes(const std::vector<std::string>& rows) {
    std::string t = kRouteHead;
    for (const auto& r : rows) t += r + "\n";
    Write("/proc/net/route", t);
  }

 private:
  std::string root_;
};

std::string Row(const std::string& iface, const std::string& dest, int metric,
                const std::string& mask, const std::string& flags = "0003") {
  return iface + "\t" + dest + "\t0100000A\t" + flags + "\t0\t0\t" + std::to_string(metric) + "\t" +
         mask + "\t0\t0\t0";
}

TEST(BootNicTest, TheDefaultRoutesNicWithTheLowestMetric) {
  TempDir dir;
  Tree t(dir.path());
  t.Nic("eno1", "AA:BB:CC:00:00:01");
  t.Nic("eno2", "aa:bb:cc:00:00:02");
  t.Nic("eno3", "aa:bb:cc:00:00:03");
  t.Routes({Row("eno3", "0000000A", 0, "000000FF"), Row("eno1", "00000000", 200, "00000000"),
            Row("eno2", "00000000", 100, "00000000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.iface, "eno2");
  EXPECT_EQ(nic.mac, "aa-bb-cc-00-00-02");
  EXPECT_NE(nic.how.find("default route"), std::string::npos) << nic.how;
}

TEST(BootNicTest, ARouteThatIsNotUpDoesNotCount) {
  TempDir dir;
  Tree t(dir.path());
  t.Nic("eno1", "aa:bb:cc:00:00:01");
  t.Nic("eno2", "aa:bb:cc:00:00:02", true, "down");
  t.Routes({Row("eno2", "00000000", 0, "00000000", "0000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.iface, "eno1") << nic.how;
  EXPECT_NE(nic.how.find("first Ethernet interface that is up"), std::string::npos) << nic.how;
}

TEST(BootNicTest, BootifOnTheCommandLineWins) {
  TempDir dir;
  Tree t(dir.path());
  t.Write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz BOOTIF=01-52-54-00-AB-CD-EF quiet\n");
  t.Nic("eno1", "aa:bb:cc:00:00:01");
  t.Nic("enp5s0", "52:54:00:ab:cd:ef");
  t.Routes({Row("eno1", "00000000", 0, "00000000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.mac, "52-54-00-ab-cd-ef");
  EXPECT_EQ(nic.iface, "enp5s0");
  EXPECT_NE(nic.how.find("BOOTIF="), std::string::npos) << nic.how;
}

TEST(BootNicTest, ABridgeIsFollowedToItsPort) {
  TempDir dir;
  Tree t(dir.path());
  t.Nic("br0", "02:00:00:00:00:99", false);  // a bridge: no device
  t.Lower("br0", "vlan10");
  t.Nic("vlan10", "aa:bb:cc:00:00:07", false);
  t.Lower("vlan10", "eno7");
  t.Nic("eno7", "aa:bb:cc:00:00:07");
  t.Routes({Row("br0", "00000000", 0, "00000000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.iface, "eno7");
  EXPECT_EQ(nic.mac, "aa-bb-cc-00-00-07");
  EXPECT_NE(nic.how.find("br0"), std::string::npos) << nic.how;
}

TEST(BootNicTest, ABondSlaveGivesItsPermanentAddress) {
  TempDir dir;
  Tree t(dir.path());
  t.Nic("bond0", "aa:bb:cc:00:00:01", false);
  t.Lower("bond0", "eno2");
  t.Lower("bond0", "eno1");
  t.Nic("eno1", "aa:bb:cc:00:00:01");
  t.Nic("eno2", "aa:bb:cc:00:00:01");  // the bond rewrote it
  t.Write("/sys/class/net/eno1/bonding_slave/perm_hwaddr", "aa:bb:cc:00:00:01\n");
  t.Write("/sys/class/net/eno2/bonding_slave/perm_hwaddr", "aa:bb:cc:00:00:02\n");
  t.Routes({Row("bond0", "00000000", 0, "00000000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.iface, "eno1");  // first lower interface by name
  EXPECT_EQ(nic.mac, "aa-bb-cc-00-00-01");
}

TEST(BootNicTest, NoneFoundSaysWhy) {
  TempDir dir;
  Tree t(dir.path());
  t.Nic("eno1", "aa:bb:cc:00:00:01", true, "down");
  t.Nic("wg0", "00:00:00:00:00:00", false);
  t.Routes({Row("wg0", "00000000", 0, "00000000")});
  RootFs fs(dir.path());
  auto nic = fleet::FindBootNic(fs);
  EXPECT_EQ(nic.mac, "");
  EXPECT_NE(nic.how.find("wg0 has no network device under it"), std::string::npos) << nic.how;
}

TEST(BootNicTest, NormalizesMacs) {
  EXPECT_EQ(fleet::NormalizeMac("52:54:00:AB:cd:Ef"), "52-54-00-ab-cd-ef");
  EXPECT_EQ(fleet::NormalizeMac("52-54-00-ab-cd-ef\n"), "52-54-00-ab-cd-ef");
  EXPECT_EQ(fleet::NormalizeMac("52:54-00:ab:cd:ef"), "");
  EXPECT_EQ(fleet::NormalizeMac("00:00:00:00:00:00"), "");
  EXPECT_EQ(fleet::NormalizeMac("52:54:00:ab:cd"), "");
  EXPECT_EQ(fleet::NormalizeMac("80:00:02:08:fe:80:00:00:00:00:00:00:00:11:22:33:44:55:66:77"),
            "");  // InfiniBand: 20 bytes
  EXPECT_EQ(fleet::NormalizeMac("g2:54:00:ab:cd:ef"), "");
}

}  // namespace
}  // namespace gpuhost::testing
