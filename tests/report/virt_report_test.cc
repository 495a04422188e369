// The VM side of the status page, API and metrics: a real libvirt reading
// (libvirt's test driver, through serve's Watcher) over the fixture GPU
// server's state.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "base/fileio.h"
#include "libvirt/watcher.h"
#include "report/http_client.h"
#include "report/metrics.h"
#include "report/page.h"
#include "report/serve.h"
#include "report/state_fixtures.h"
#include "report/status_json.h"
#include "report/virt_rows.h"
#include "support/test_env.h"

namespace gpuhost::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// "train" runs with the first GPU and its audio; "spare<&>" is shut off and
// has only the second GPU's audio function: it owns that GPU all the same.
constexpr const char* kNode = R"(<node>
<domain type='test'>
  <name>train</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x17' slot='0x00' function='0x0'/></source>
    </hostdev>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x17' slot='0x00' function='0x1'/></source>
    </hostdev>
  </devices>
</domain>
<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>
  <name>spare&lt;&amp;&gt;</name>
  <memory>1048576</memory>
  <os><type>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='yes'>
      <source><address domain='0x0000' bus='0x81' slot='0x00' function='0x1'/></source>
    </hostdev>
  </devices>
  <test:runstate>5</test:runstate>
</domain>
</node>
)";

class VirtReportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/node.xml", kNode, 0644).ok());
    uri_ = "test://" + dir_.path() + "/node.xml";
    state_ = GpuServerState(scratch_.path());
  }
  std::shared_ptr<const virt::Reading> Read() {
    virt::Watcher::Options o;
    o.uri = uri_;
    o.daemon_running = [] { return true; };
    virt::Watcher w(o);
    return w.WaitFresh(10s);
  }
  report::View LiveView() {
    auto v = Loaded(state_);
    v.live_virt = Read();
    return v;
  }
  TempDir dir_, scratch_;
  std::string uri_;
  result::State state_;
};

const json* GpuJson(const json& api, const std::string& address) {
  for (const auto& g : api["gpus"]) {
    if (g["address"] == address) return &g;
  }
  return nullptr;
}

TEST_F(VirtReportTest, OwnersAndSnippetsPerVfioGpu) {
  auto v = LiveView();
  ASSERT_NE(v.live_virt, nullptr);
  auto src = report::EffectiveVirt(v);
  EXPECT_TRUE(src.live);
  auto rows = report::VfioGpuRows(*v.state, src.virt);
  std::map<std::string, const report::VfioGpuRow*> by;
  for (const auto& r : rows) by[r.gpu->address.ToString()] = &r;
  ASSERT_TRUE(by.count("0000:17:00.0") && by.count("0000:81:00.0") && by.count("0000:21:00.0"));
  EXPECT_EQ(by["0000:17:00.0"]->owner, "train");
  EXPECT_TRUE(by["0000:17:00.0"]->owner_active);
  EXPECT_EQ(by["0000:17:00.0"]->owner_state, "running");
  EXPECT_EQ(by["0000:81:00.0"]->owner, "spare<&>");
  EXPECT_FALSE(by["0000:81:00.0"]->owner_active);
  EXPECT_EQ(by["0000:81:00.0"]->owner_state, "shut off");
  EXPECT_EQ(by["0000:21:00.0"]->owner, "");
  // Every function of the card, and the card's NUMA node with its CPUs.
  const auto& g2 = *by["0000:81:00.0"];
  EXPECT_EQ(g2.functions.size(), 2u);
  EXPECT_EQ(g2.node_cpus, "16-31,48-63");
  EXPECT_NE(g2.snippet.numa_xml.find("cpuset='16-31,48-63'"), std::string::npos);
  EXPECT_NE(g2.snippet.numa_xml.find("nodeset='1'"), std::string::npos);
  EXPECT_EQ(by["0000:21:00.0"]->functions.size(), 4u);
  EXPECT_NE(by["0000:21:00.0"]->snippet.devices_xml.find("function='0x3'/>"), std::string::npos);
}

TEST_F(VirtReportTest, ApiShowsVmsOwnersAndSnippets) {
  json api = report::StatusJson(LiveView());
  const json& virt = api["virtualization"];
  EXPECT_EQ(virt["source"], "libvirt");
  EXPECT_TRUE(virt["libvirt"]["connected"].get<bool>());
  EXPECT_EQ(virt["libvirt"]["uri"], uri_);
  ASSERT_EQ(virt["vms"].size(), 2u);
  for (const auto& vm : virt["vms"]) {
    if (vm["name"] == "train") {
      EXPECT_EQ(vm["state"], "running");
      EXPECT_TRUE(vm["active"].get<bool>());
      ASSERT_EQ(vm["hostdevs"].size(), 2u);
      EXPECT_EQ(vm["hostdevs"][0]["address"], "0000:17:00.0");
      EXPECT_EQ(vm["hostdevs"][0]["role"], "gpu");
      EXPECT_EQ(vm["hostdevs"][1]["role"], "gpu-companion");
    } else {
      EXPECT_EQ(vm["name"], "spare<&>");
      EXPECT_EQ(vm["state"], "shut off");
    }
  }
  const json* g1 = GpuJson(api, "0000:17:00.0");
  ASSERT_NE(g1, nullptr);
  EXPECT_EQ((*g1)["owner"]["vm"], "train");
  EXPECT_TRUE((*g1)["owner"]["vm_active"].get<bool>());
  EXPECT_FALSE((*g1)["owner"]["free"].get<bool>());
  const json* g3 = GpuJson(api, "0000:21:00.0");
  ASSERT_NE(g3, nullptr);
  EXPECT_TRUE((*g3)["owner"]["free"].get<bool>());
  EXPECT_EQ((*g3)["libvirt_hostdev"]["functions"].size(), 4u);
  EXPECT_NE((*g3)["libvirt_hostdev"]["devices_xml"].get<std::string>().find("multifunction='on'"),
            std::string::npos);
  // The host's own GPU (boot VGA) gets neither.
  const json* bmc = GpuJson(api, "0000:03:00.0");
  ASSERT_NE(bmc, nullptr);
  EXPECT_TRUE((*bmc)["owner"].is_null());
  EXPECT_TRUE((*bmc)["libvirt_hostdev"].is_null());
}

// Domain capabilities need a read-write connection; serve's is read-only
// (the test driver has none at all): the run's record of them stays.
TEST_F(VirtReportTest, DomainCapabilitiesComeFromTheRunWhenServeCannotRead) {
  state_.inventory.virt.hostdev_vfio = true;
  state_.inventory.virt.virt_type = "kvm";
  auto v = LiveView();
  ASSERT_FALSE(v.live_virt->virt.hostdev_vfio.has_value());
  json api = report::StatusJson(v);
  EXPECT_EQ(api["virtualization"]["source"], "libvirt");
  EXPECT_EQ(api["virtualization"]["libvirt"]["hostdev_vfio"], true);
  EXPECT_EQ(api["virtualization"]["libvirt"]["virt_type"], "kvm");
  EXPECT_NE(report::RenderMetrics(v).find("gpuhost_libvirt_hostdev_vfio 1\n"), std::string::npos);
}

TEST_F(VirtReportTest, WithoutAReadingTheRunsRecordIsShown) {
  state_.inventory.virt.libvirt_uri = "qemu:///system";
  state_.inventory.virt.libvirt_error = "libvirtd (or virtqemud) is not running: not asked";
  json api = report::StatusJson(Loaded(state_));
  const json& virt = api["virtualization"];
  EXPECT_EQ(virt["source"], "state");
  EXPECT_EQ(virt["since"], state_.finished_at);
  EXPECT_FALSE(virt["libvirt"]["connected"].get<bool>());
  EXPECT_NE(virt["libvirt"]["error"].get<std::string>().find("not running"), std::string::npos);
  EXPECT_TRUE(virt["vms"].is_null());  // unknown, not "none"
  const json* g1 = GpuJson(api, "0000:17:00.0");
  ASSERT_NE(g1, nullptr);
  EXPECT_TRUE((*g1)["owner"].is_null());
  EXPECT_FALSE((*g1)["libvirt_hostdev"].is_null());  // the snippet needs no libvirt
  std::string page = report::RenderPage(Loaded(state_));
  EXPECT_NE(page.find("not connected"), std::string::npos);
  EXPECT_NE(page.find("owner unknown"), std::string::npos);
}

TEST_F(VirtReportTest, PageEscapesNamesAndSnippets) {
  std::string page = report::RenderPage(LiveView());
  EXPECT_NE(page.find("id=\"vms\""), std::string::npos);
  EXPECT_NE(page.find("spare&lt;&amp;&gt;"), std::string::npos);
  EXPECT_EQ(page.find("spare<&>"), std::string::npos);
  EXPECT_NE(page.find("VM train (running)"), std::string::npos);
  EXPECT_NE(page.find("&lt;hostdev mode=&#39;subsystem&#39; type=&#39;pci&#39;"),
            std::string::npos);
  EXPECT_EQ(page.find("<hostdev"), std::string::npos);
  EXPECT_NE(page.find("cpuset=&#39;16-31,48-63&#39;"), std::string::npos);
  EXPECT_NE(page.find(">free<"), std::string::npos);
}

TEST_F(VirtReportTest, MetricsNameVmsAndOwners) {
  std::string m = report::RenderMetrics(LiveView());
  EXPECT_NE(m.find("gpuhost_libvirt_connected 1\n"), std::string::npos) << m;
  EXPECT_NE(m.find("gpuhost_vm_info{vm=\"train\",state=\"running\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("gpuhost_vm_active{vm=\"spare<&>\"} 0\n"), std::string::npos);
  EXPECT_NE(m.find("gpuhost_gpu_owner{address=\"0000:17:00.0\",vm=\"train\",vm_active=\"1\"} 1\n"),
            std::string::npos);
  EXPECT_NE(m.find("gpuhost_gpu_free{address=\"0000:21:00.0\"} 1\n"), std::string::npos);
  EXPECT_NE(m.find("gpuhost_gpu_free{address=\"0000:81:00.0\"} 0\n"), std::string::npos);
  TempDir dir;
  ASSERT_TRUE(WriteFileAtomic(dir.path() + "/metrics.txt", m).ok());
  int status = -1;
  std::string out =
      RunCommand("promtool check metrics < " + dir.path() + "/metrics.txt 2>&1", &status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "");
}

// End to end in serve: its own reading of libvirt, refreshed while pages
// are asked for; a change in libvirt shows without a new state file.
TEST_F(VirtReportTest, ServeFollowsLibvirt) {
  TempDir state_dir;
  WriteState(state_dir.path(), state_);
  report::ServeOptions opts;
  opts.listen = {"127.0.0.1:0"};
  opts.state_dir = state_dir.path();
  opts.hostname = "h200";
  opts.libvirt_uri = uri_;
  opts.libvirt_max_age = 50ms;
  opts.libvirt_running = [] { return true; };
  report::StatusServer server(opts);
  auto ports = server.Start();
  ASSERT_TRUE(ports.ok()) << ports.status().ToString();
  auto owner_of = [&](const std::string& gpu) -> std::string {
    for (int i = 0; i < 100; ++i) {
      auto r = Get((*ports)[0], "/api/v1/status");
      EXPECT_EQ(r.status, 200);
      json api = json::parse(r.body, nullptr, false);
      const json* g = GpuJson(api, gpu);
      if (g && api["virtualization"]["source"] == "libvirt" && (*g)["owner"].is_object()) {
        return (*g)["owner"]["vm"].is_null() ? "" : (*g)["owner"]["vm"].get<std::string>();
      }
      std::this_thread::sleep_for(50ms);
    }
    return "(no libvirt reading)";
  };
  EXPECT_EQ(owner_of("0000:17:00.0"), "train");
  EXPECT_EQ(owner_of("0000:21:00.0"), "");
  // The VM gets the third GPU: the next readings see it.
  std::string node = kNode;
  node.replace(node.find("bus='0x17' slot='0x00' function='0x1'"),
               std::string("bus='0x17' slot='0x00' function='0x1'").size(),
               "bus='0x21' slot='0x00' function='0x0'");
  ASSERT_TRUE(WriteFileAtomic(dir_.path() + "/node.xml", node, 0644).ok());
  std::string third;
  for (int i = 0; i < 100 && third != "train"; ++i) {
    third = owner_of("0000:21:00.0");
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(third, "train");
  auto page = Get((*ports)[0], "/");
  EXPECT_NE(page.body.find("VM train (running)"), std::string::npos);
}

}  // namespace
}  // namespace gpuhost::testing
