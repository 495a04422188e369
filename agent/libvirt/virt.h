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
// "pci_0000_65_00_0": libvirt's node device name of a PCI function.
std::string NodeDeviceName(const PciAddress& a);
// Ready-to-paste <hostdev> elements for a GPU and its companions, guest
// functions in one multifunction slot, plus NUMA advice when known.
std::string HostdevSnippet(const std::vector<PciAddress>& functions, std::optional<int> numa_node,
                           const std::string& node_cpus);

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

// Connects to qemu:///system if it answers and fills inv->virt; otherwise
// records why in inv->virt.libvirt_error.
void CollectVirtualization(inventory::Inventory* inv, const std::string& uri = "qemu:///system");

}  // namespace gpuhost::virt
