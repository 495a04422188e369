// libvirt through its C API, against libvirt's own test driver (no daemon):
// test:///default and test:///PATH/node.xml (a whole fake host in one file).
#include "libvirt/virt.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using inventory::PciAddress;

PciAddress Addr(const char* s) { return *PciAddress::Parse(s); }

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

// Defined but shut off: the test driver's runstate extension (5 = shutoff).
constexpr const char* kSpareXml =
    R"(<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>spare-vm</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source>
        <address domain='0x0000' bus='0x81' slot='0x00' function='0x0'/>
      </source>
    </hostdev>
  </devices>
  <test:runstate>5</test:runstate>
</domain>)";

// A test-driver host with both VMs; returns its URI.
std::string WriteNode(const TempDir& dir) {
  std::string node = std::string("<node>\n") + kDomainXml + "\n" + kSpareXml + "\n</node>\n";
  EXPECT_TRUE(WriteFileAtomic(dir.path() + "/node.xml", node, 0644).ok());
  return "test://" + dir.path() + "/node.xml";
}

TEST(VirtXmlTest, HostdevAddressesTakesPciSourcesOnly) {
  auto a = virt::HostdevAddresses(kDomainXml);
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].ToString(), "0000:17:00.0");
  EXPECT_EQ(a[1].ToString(), "0000:17:00.1");
}

TEST(VirtXmlTest, DomainCapabilitiesSayWhetherVfioHostdevWorks) {
  const std::string caps = R"(<domainCapabilities>
    <path>/usr/bin/qemu-system-x86_64</path>
    <domain>kvm</domain>
    <devices>
    <hostdev supported='yes'>
      <enum name='mode'><value>subsystem</value></enum>
      <enum name='pciBackend'>
        <value>default</value>
        <value>vfio</value>
      </enum>
    </hostdev></devices></domainCapabilities>)";
  EXPECT_EQ(virt::DomcapsHostdevVfio(caps), true);
  EXPECT_EQ(virt::DomcapsVirtType(caps), "kvm");
  EXPECT_EQ(virt::DomcapsVirtType("<domainCapabilities><domain>qemu</domain>"), "qemu");
  EXPECT_EQ(virt::DomcapsVirtType("<domainCapabilities/>"), "");
  EXPECT_EQ(virt::DomcapsHostdevVfio(R"(<hostdev supported='yes'>
      <enum name='pciBackend'><value>default</value></enum></hostdev>)"),
            false);
  EXPECT_EQ(virt::DomcapsHostdevVfio("<devices><hostdev supported='no'/></devices>"), false);
  EXPECT_EQ(virt::DomcapsHostdevVfio("<devices/>"), std::nullopt);
}

TEST(VirtXmlTest, CountsCpusOfAKernelCpulist) {
  EXPECT_EQ(virt::CountCpus("0-3,8"), 5);
  EXPECT_EQ(virt::CountCpus("32-63,96-127\n"), 64);
  EXPECT_EQ(virt::CountCpus("7"), 1);
  EXPECT_EQ(virt::CountCpus(""), std::nullopt);
  EXPECT_EQ(virt::CountCpus("3-1"), std::nullopt);
  EXPECT_EQ(virt::CountCpus("a-b"), std::nullopt);
  // A node list past int range (fuzz/proc_text_fuzz): the sum was undefined behaviour.
  EXPECT_EQ(virt::CountCpus("0-2147483646,0-5"), std::nullopt);
  EXPECT_EQ(virt::CountCpus("0-9223372036854775807"), std::nullopt);
  EXPECT_EQ(virt::CountCpus("0-8191"), 8192);
}

TEST(VirtXmlTest, SnippetCoversEveryFunctionInOneGuestSlotWithNumaAdvice) {
  std::vector<PciAddress> f = {Addr("0000:81:00.0"), Addr("0000:81:00.1")};
  auto s = virt::MakeHostdevSnippet(f, 1, "32-63");
  EXPECT_NE(s.devices_xml.find("<address domain='0x0000' bus='0x81' slot='0x00' function='0x0'/>"),
            std::string::npos);
  EXPECT_NE(s.devices_xml.find("<address domain='0x0000' bus='0x81' slot='0x00' function='0x1'/>"),
            std::string::npos);
  EXPECT_NE(s.devices_xml.find("function='0x0' multifunction='on'/>"), std::string::npos);
  EXPECT_EQ(s.devices_xml.find("function='0x1' multifunction"), std::string::npos);
  EXPECT_NE(s.numa_xml.find("<memory mode='strict' nodeset='1'/>"), std::string::npos);
  EXPECT_NE(s.numa_xml.find("cpuset='32-63'>8</vcpu>"), std::string::npos);
  EXPECT_NE(s.advice.find("NUMA node 1"), std::string::npos);
  EXPECT_EQ(virt::HostdevAddresses("<domain><devices>" + s.devices_xml + "</devices></domain>"), f);
  EXPECT_EQ(virt::NodeDeviceName(f[1]), "pci_0000_81_00_1");

  // One function: no multifunction; no NUMA node: no pinning, and it says so.
  auto one = virt::MakeHostdevSnippet({Addr("0000:05:00.0")}, std::nullopt, "");
  EXPECT_EQ(one.devices_xml.find("multifunction"), std::string::npos);
  EXPECT_EQ(one.numa_xml, "");
  EXPECT_NE(one.advice.find("no NUMA node"), std::string::npos);
  // A node without a known cpulist: memory only.
  auto mem = virt::MakeHostdevSnippet({Addr("0000:05:00.0")}, 0, "");
  EXPECT_EQ(mem.numa_xml.find("<vcpu"), std::string::npos);
  EXPECT_NE(mem.numa_xml.find("nodeset='0'"), std::string::npos);
}

// libvirt itself accepts the snippet: a VM defined from it lists the same
// host functions, shut off, owning them.
TEST(VirtConnectionTest, SnippetDefinesAVmInLibvirt) {
  std::vector<PciAddress> f = {Addr("0000:65:00.0"), Addr("0000:65:00.1"), Addr("0000:65:00.2")};
  auto s = virt::MakeHostdevSnippet(f, 0, "0-3");
  std::string xml = "<domain type='test'><name>from-snippet</name><memory>1048576</memory>\n" +
                    s.numa_xml + "<os><type>hvm</type></os><devices>\n" + s.devices_xml +
                    "</devices></domain>\n";
  virConnectPtr conn = virConnectOpen("test:///default");
  ASSERT_NE(conn, nullptr);
  virDomainPtr dom = virDomainDefineXML(conn, xml.c_str());
  ASSERT_NE(dom, nullptr) << virGetLastErrorMessage() << "\n" << xml;
  // libvirt's own rendering keeps the NUMA advice and the guest slot.
  char* back = virDomainGetXMLDesc(dom, 0);
  ASSERT_NE(back, nullptr);
  std::string canonical = back;
  free(back);
  EXPECT_NE(canonical.find("cpuset='0-3'"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find("nodeset='0'"), std::string::npos) << canonical;
  EXPECT_NE(canonical.find("multifunction='on'"), std::string::npos) << canonical;

  auto c = virt::Connection::Open("test:///default", true);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  inventory::Inventory inv;
  (*c)->Describe(&inv);
  const inventory::VirtDomain* vm = nullptr;
  for (const auto& d : inv.virt.domains) {
    if (d.name == "from-snippet") vm = &d;
  }
  ASSERT_NE(vm, nullptr);
  EXPECT_EQ(vm->hostdevs, f);
  EXPECT_EQ(vm->state, "shut off");
  EXPECT_FALSE(vm->active);
  EXPECT_EQ(inv.virt.OwnerOf(f[2]), "from-snippet");
  EXPECT_FALSE(inv.virt.UsedByActiveVm(f[0]));

  virDomainUndefine(dom);
  virDomainFree(dom);
  virConnectClose(conn);
}

TEST(VirtConnectionTest, ListsVmsWithStatesAndOwners) {
  TempDir dir;
  std::string uri = WriteNode(dir);
  inventory::Inventory inv;
  auto c = virt::Connect(&inv, {uri, /*read_only=*/true, /*daemon_running=*/true});
  ASSERT_NE(c, nullptr) << inv.virt.libvirt_error;
  EXPECT_TRUE(inv.virt.libvirt_connected);
  EXPECT_EQ(inv.virt.libvirt_uri, uri);
  EXPECT_EQ(inv.virt.libvirt_error, "");
  ASSERT_EQ(inv.virt.domains.size(), 2u);
  std::map<std::string, const inventory::VirtDomain*> by_name;
  for (const auto& d : inv.virt.domains) by_name[d.name] = &d;
  ASSERT_TRUE(by_name.count("gpu-vm") && by_name.count("spare-vm"));
  EXPECT_EQ(by_name["gpu-vm"]->state, "running");
  EXPECT_TRUE(by_name["gpu-vm"]->active);
  EXPECT_EQ(by_name["gpu-vm"]->hostdevs,
            (std::vector<PciAddress>{Addr("0000:17:00.0"), Addr("0000:17:00.1")}));
  EXPECT_EQ(by_name["spare-vm"]->state, "shut off");
  EXPECT_FALSE(by_name["spare-vm"]->active);
  EXPECT_EQ(inv.virt.OwnerOf(Addr("0000:17:00.1")), "gpu-vm");
  EXPECT_EQ(inv.virt.OwnerOf(Addr("0000:81:00.0")), "spare-vm");
  EXPECT_EQ(inv.virt.OwnerOf(Addr("0000:65:00.0")), "");
  EXPECT_TRUE(inv.virt.UsedByActiveVm(Addr("0000:17:00.0")));
  // A shut-off VM's device may move: only running VMs hold theirs.
  EXPECT_FALSE(inv.virt.UsedByActiveVm(Addr("0000:81:00.0")));
  // Domain capabilities come as one answer: both known or both unknown
  // (libvirt 9's test driver has none).
  EXPECT_EQ(inv.virt.hostdev_vfio.has_value(), !inv.virt.virt_type.empty());
}

TEST(VirtConnectionTest, NoDaemonIsReportedNotFatal) {
  inventory::Inventory inv;
  auto c = virt::Connect(&inv, {"qemu:///system", false, /*daemon_running=*/false});
  EXPECT_EQ(c, nullptr);
  EXPECT_FALSE(inv.virt.libvirt_connected);
  EXPECT_NE(inv.virt.libvirt_error.find("not running"), std::string::npos);
  EXPECT_EQ(inv.virt.libvirt_uri, "qemu:///system");
  // KVM is still judged, from the inventory alone.
  EXPECT_FALSE(inv.virt.kvm_usable);
  EXPECT_NE(inv.virt.kvm_reason.find("VT-x/AMD-V"), std::string::npos);

  // A daemon said to run that does not answer: the error is libvirt's own.
  inventory::Inventory inv2;
  inv2.system.cpu.virtualization = "vmx";
  inv2.system.kvm_device = true;
  std::string uri = "qemu+unix:///system?socket=/nonexistent/gpuhost.sock";
  EXPECT_EQ(virt::Connect(&inv2, {uri, true, true}), nullptr);
  EXPECT_FALSE(inv2.virt.libvirt_connected);
  EXPECT_NE(inv2.virt.libvirt_error.find(uri), std::string::npos) << inv2.virt.libvirt_error;
  EXPECT_TRUE(inv2.virt.kvm_usable);
  EXPECT_EQ(inv2.virt.kvm_reason, "");
}

// How a sandboxed serve tells a running libvirtd without D-Bus: its pid
// file's lock, held by another process (a lock of our own never conflicts).
TEST(VirtDaemonTest, APidFileCountsWhileItsLockIsHeld) {
  TempDir dir;
  std::string pid_file = dir.path() + "/libvirtd.pid";
  EXPECT_FALSE(virt::PidFileLocked(pid_file));  // absent
  ASSERT_TRUE(WriteFileAtomic(pid_file, "4242\n", 0644).ok());
  EXPECT_FALSE(virt::PidFileLocked(pid_file));  // stale: nobody holds it
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    int fd = open(pid_file.c_str(), O_WRONLY);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    char ok = (fd >= 0 && fcntl(fd, F_SETLK, &fl) == 0) ? '1' : '0';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, '1');
  EXPECT_TRUE(virt::PidFileLocked(pid_file));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(virt::PidFileLocked(pid_file));  // the lock died with the daemon
  close(ready[0]);
  close(ready[1]);
}

TEST(VirtConnectionTest, KvmNeedsTheDeviceToo) {
  inventory::Inventory inv;
  inv.system.cpu.virtualization = "svm";
  virt::JudgeKvm(&inv);
  EXPECT_FALSE(inv.virt.kvm_usable);
  EXPECT_NE(inv.virt.kvm_reason.find("/dev/kvm"), std::string::npos);
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
