// libvirt through its C API, against libvirt's own test driver (no daemon).
#include "libvirt/virt.h"

#include <gtest/gtest.h>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using inventory::PciAddress;

constexpr const char* kDomainXml = R"(<domain type='test'>
  <name>gpu-vm</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <driver name='vfio'/>
      <source>
        <address domain='0x0000' bus='0x17' slot='0x00' function='0x0'/>
      </source>
      <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x0' multifunction='on'/>
    </hostdev>
    <hostdev mode='subsystem' type='usb' managed='yes'>
      <source>
        <vendor id='0x046d'/>
        <product id='0xc52b'/>
        <address bus='1' device='4'/>
      </source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x17' slot='0x00' function='0x1'/>
      </source>
    </hostdev>
  </devices>
</domain>)";

TEST(VirtXmlTest, HostdevAddressesTakesPciSourcesOnly) {
  auto a = virt::HostdevAddresses(kDomainXml);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].ToString(), "0000:17:00.0");
  EXPECT_EQ(a[1].ToString(), "0000:17:00.1");
}

TEST(VirtXmlTest, DomainCapabilitiesSayWhetherVfioHostdevWorks) {
  EXPECT_EQ(virt::DomcapsHostdevVfio(R"(<domainCapabilities><devices>
    <hostdev supported='yes'>
      <enum name='mode'><value>subsystem</value></enum>
      <enum name='pciBackend'>
        <value>default</value>
        <value>vfio</value>
      </enum>
    </hostdev></devices></domainCapabilities>)"),
            true);
  EXPECT_EQ(virt::DomcapsHostdevVfio(R"(<hostdev supported='yes'>
      <enum name='pciBackend'><value>default</value></enum></hostdev>)"),
            false);
  EXPECT_EQ(virt::DomcapsHostdevVfio("<devices><hostdev supported='no'/></devices>"), false);
  EXPECT_EQ(virt::DomcapsHostdevVfio("<devices/>"), std::nullopt);
}

TEST(VirtXmlTest, SnippetCoversEveryFunctionInOneGuestSlotWithNumaAdvice) {
  std::vector<PciAddress> f = {*PciAddress::Parse("0000:81:00.0"),
                               *PciAddress::Parse("0000:81:00.1")};
  std::string s = virt::HostdevSnippet(f, 1, "32-63");
  EXPECT_NE(s.find("<address domain='0x0000' bus='0x81' slot='0x00' function='0x0'/>"),
            std::string::npos);
  EXPECT_NE(s.find("<address domain='0x0000' bus='0x81' slot='0x00' function='0x1'/>"),
            std::string::npos);
  EXPECT_NE(s.find("function='0x0' multifunction='on'/>"), std::string::npos);
  EXPECT_NE(s.find("<memory mode='strict' nodeset='1'/>"), std::string::npos);
  EXPECT_NE(s.find("cpuset='32-63'"), std::string::npos);
  // The snippet parses back to the same host addresses.
  EXPECT_EQ(virt::HostdevAddresses("<domain><devices>" + s + "</devices></domain>"), f);
  EXPECT_EQ(virt::NodeDeviceName(f[1]), "pci_0000_81_00_1");
}

TEST(VirtConnectionTest, TestDriverListsVmsWithTheirHostDevices) {
  TempDir dir;
  std::string node = std::string("<node>\n") + kDomainXml + "\n</node>\n";
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/node.xml", node, 0644).ok());
  auto c = virt::Connection::Open("test://" + dir.path() + "/node.xml", true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  inventory::Inventory inv;
  (*c)->Describe(&inv);
  EXPECT_TRUE(inv.virt.libvirt_connected);
  ASSERT_EQ(inv.virt.domains.size(), 1u);
  const auto& d = inv.virt.domains[0];
  EXPECT_EQ(d.name, "gpu-vm");
  EXPECT_TRUE(d.active) << d.state;
  EXPECT_EQ(d.state, "running");
  ASSERT_EQ(d.hostdevs.size(), 2u);
  EXPECT_EQ(inv.virt.OwnerOf(*PciAddress::Parse("0000:17:00.1")), "gpu-vm");
  EXPECT_TRUE(inv.virt.UsedByActiveVm(*PciAddress::Parse("0000:17:00.0")));
  EXPECT_FALSE(inv.virt.UsedByActiveVm(*PciAddress::Parse("0000:81:00.0")));
}

TEST(VirtConnectionTest, NoDaemonIsReportedNotFatal) {
  inventory::Inventory inv;
  virt::CollectVirtualization(&inv, "qemu+unix:///system?socket=/nonexistent/gpuhost.sock");
  EXPECT_FALSE(inv.virt.libvirt_connected);
  EXPECT_FALSE(inv.virt.libvirt_error.empty());
  EXPECT_FALSE(inv.virt.kvm_usable);
  EXPECT_NE(inv.virt.kvm_reason.find("VT-x/AMD-V"), std::string::npos);
}

TEST(VirtConnectionTest, DefaultTestDriverConnects) {
  auto c = virt::Connection::Open("test:///default", false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  inventory::Inventory inv;
  (*c)->Describe(&inv);
  ASSERT_FALSE(inv.virt.domains.empty());
  EXPECT_EQ(inv.virt.domains[0].name, "test");
}

}  // namespace
}  // namespace gpuhost::testing
