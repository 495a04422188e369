// serve's libvirt reading: against libvirt's test driver, and against a
// socket that never answers (a hung libvirtd) to show requests never wait.
#include "libvirt/watcher.h"

#include <gtest/gtest.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/fileio.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kNode = R"(<node>
<domain type='test'>
  <name>gpu-vm</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x17' slot='0x00' function='0x0'/></source>
    </hostdev>
  </devices>
</domain>
</node>
)";

virt::Watcher::Options TestOptions(const std::string& uri, bool running = true) {
  virt::Watcher::Options o;
  o.uri = uri;
  o.max_age = 0ms;
  o.daemon_running = [running] { return running; };
  return o;
}

TEST(WatcherTest, ReadsVmsAndKeepsTheVersionWhileNothingChanges) {
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/node.xml", kNode, 0644).ok());
  virt::Watcher w(TestOptions("test://" + dir.path() + "/node.xml"));
  auto r = w.WaitFresh(10s);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(r->virt.libvirt_connected) << r->virt.libvirt_error;
  ASSERT_EQ(r->virt.domains.size(), 1u);
  EXPECT_EQ(r->virt.domains[0].name, "gpu-vm");
  EXPECT_EQ(r->virt.domains[0].hostdevs[0].ToString(), "0000:17:00.0");
  EXPECT_EQ(r->version, 1u);
  EXPECT_FALSE(r->since.empty());
  auto again = w.WaitFresh(10s);
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->version, 1u);
  EXPECT_EQ(again, r);  // the same reading: nothing to render again
  EXPECT_EQ(w.Latest()->version, 1u);
}

TEST(WatcherTest, ANewVmBumpsTheVersion) {
  // test:///default lives as long as a connection to it: keep ours open.
  virConnectPtr conn = virConnectOpen("test:///default");
  ASSERT_NE(conn, nullptr);
  virt::Watcher w(TestOptions("test:///default"));
  auto first = w.WaitFresh(10s);
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->virt.libvirt_connected) << first->virt.libvirt_error;
  virDomainPtr dom = virDomainDefineXML(
      conn,
      "<domain type='test'><name>watched</name><memory>1024</memory>"
      "<os><type>hvm</type></os><devices><hostdev mode='subsystem' type='pci'><source>"
      "<address domain='0x0000' bus='0x41' slot='0x00' function='0x0'/></source></hostdev>"
      "</devices></domain>");
  ASSERT_NE(dom, nullptr) << virGetLastErrorMessage();
  auto second = w.WaitFresh(10s);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->version, first->version + 1);
  bool seen = false;
  for (const auto& d : second->virt.domains) {
    if (d.name == "watched") {
      seen = true;
      EXPECT_EQ(d.state, "shut off");
      ASSERT_EQ(d.hostdevs.size(), 1u);
      EXPECT_EQ(d.hostdevs[0].ToString(), "0000:41:00.0");
    }
  }
  EXPECT_TRUE(seen);
  virDomainUndefine(dom);
  virDomainFree(dom);
  virConnectClose(conn);
}

TEST(WatcherTest, ADaemonNotRunningIsNotAsked) {
  // The URI would answer; the daemon check says no, so it is never opened.
  virt::Watcher w(TestOptions("test:///default", /*running=*/false));
  auto r = w.WaitFresh(10s);
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->virt.libvirt_connected);
  EXPECT_NE(r->virt.libvirt_error.find("not running"), std::string::npos);
  EXPECT_TRUE(r->virt.domains.empty());
}

TEST(WatcherTest, AHungDaemonNeverHoldsUpARequest) {
  // A socket that accepts connections (the kernel's backlog) and never
  // answers: libvirt's client waits for the handshake forever.
  TempDir dir;
  std::string path = dir.path() + "/hung.sock";
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(path.size(), sizeof addr.sun_path);
  path.copy(addr.sun_path, path.size());
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  {
    virt::Watcher w(TestOptions("qemu+unix:///system?socket=" + path));
    for (int i = 0; i < 20; ++i) {
      auto t0 = Clock::now();
      EXPECT_EQ(w.Latest(), nullptr);  // no reading has landed, and none waited for
      EXPECT_LT(Clock::now() - t0, 50ms);
      std::this_thread::sleep_for(20ms);
    }
    EXPECT_EQ(w.WaitFresh(200ms), nullptr);
  }           // destruction leaves the stuck reading behind instead of waiting for it
  close(fd);  // the stuck reading now fails and its thread ends
}

}  // namespace
}  // namespace gpuhost::testing
