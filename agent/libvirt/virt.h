// The VM side of the host through libvirt's C API (qemu:///system): KVM
// usability, domain capabilities, defined VMs and their PCI host devices,
// and detaching devices to vfio the way libvirt expects. libvirtd not
// running is reported, never fatal.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "inventory/model.h"

namespace gpuhost::virt {

using inventory::PciAddress;

// Pure helpers on libvirt's own XML (it writes a canonical form: one
// element per line, attributes in single quotes).
std::vector<PciAddress> HostdevAddresses(const std::string& domain_xml);
std::optional<bool> DomcapsHostdevVfio(const std::string& domcaps_xml);
// The capabilities' <domain> type: "kvm", or "qemu" when libvirt has no KVM.
std::string DomcapsVirtType(const std::string& domcaps_xml);
// "pci_0000_65_00_0": libvirt's node device name of a PCI function.
std::string NodeDeviceName(const PciAddress& a);

// What to paste into a VM's definition to give it one GPU.
struct HostdevSnippet {
  // <hostdev> elements for the domain's <devices>: every function of the
  // GPU (the GPU first, then its companions), in one guest slot with
  // multifunction='on' on function 0, as on the card.
  std::string devices_xml;
  // Domain-level <vcpu cpuset=...> and <numatune> keeping the VM's vCPUs
  // and memory on the GPU's NUMA node; "" when the node is unknown.
  std::string numa_xml;
  std::string advice;  // one sentence for a person
};
// node_cpus: the node's cpulist ("32-63"), "" when unknown.
HostdevSnippet MakeHostdevSnippet(const std::vector<PciAddress>& functions,
                                  std::optional<int> numa_node, const std::string& node_cpus);
// CPUs in a kernel cpulist ("0-3,8" -> 5); nullopt when it does not parse.
std::optional<int> CountCpus(const std::string& cpulist);

// KVM from the inventory alone: VT-x/AMD-V flag and /dev/kvm.
void JudgeKvm(inventory::Inventory* inv);

class Connection {
 public:
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Unavailable (with libvirt's message) when nothing answers at `uri`.
  static Result<std::unique_ptr<Connection>> Open(const std::string& uri, bool read_only);

  // Fills inv->virt: domains with their host devices, domain capabilities.
  void Describe(inventory::Inventory* inv);
  // virNodeDeviceDetachFlags(dev, "vfio"): libvirt unbinds and binds to
  // vfio-pci and keeps its own view of the device consistent.
  Status DetachToVfio(const PciAddress& a);

 private:
  explicit Connection(void* conn, std::string uri) : conn_(conn), uri_(std::move(uri)) {}
  void* conn_;  // virConnectPtr
  std::string uri_;
};

// Whether libvirtd.service or virtqemud.service is active (asked over
// D-Bus; starts nothing). Their sockets are socket-activated: connecting
// while the daemon is down would start it, and at boot the agent runs
// before it (ordered Before=libvirtd), so connecting then deadlocks.
//
// systemd is asked over D-Bus; where that fails (a DynamicUser= service
// such as gpuhost-serve cannot use dbus-daemon) the daemons' pid files
// answer: libvirt holds a write lock on /run/libvirtd.pid (/run/virtqemud.pid)
// for as long as the daemon runs, and a lock dies with its process.
bool DaemonRunning();
// Whether another process holds a write lock on the first byte of `path`
// (libvirt's virPidFileAcquire). False when the file is absent or unlocked.
bool PidFileLocked(const std::string& path);

struct ConnectOptions {
  std::string uri = "qemu:///system";
  bool read_only = true;  // false: the agent's apply, which detaches devices
  // The caller's DaemonRunning() (or a test's answer): false means libvirt
  // is not asked at all and inv->virt says why.
  bool daemon_running = true;
};

// The one way into libvirt: judges KVM from the inventory, then, when the
// daemon runs, opens options.uri and fills inv->virt (domains with their
// host devices, domain capabilities). Returns the open connection, or null
// with inv->virt.libvirt_error saying why: not reaching libvirt is
// reported, never fatal.
std::unique_ptr<Connection> Connect(inventory::Inventory* inv, const ConnectOptions& options);

}  // namespace gpuhost::virt
