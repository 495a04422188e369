// Writes sysfs-shaped fixture trees for cases the real captures lack (two
// identical GPUs, a GPU sharing its group with a NIC, Turing's four
// functions, domain 10000, garbage attributes). The tree has the kernel's
// shape: /sys/devices/pciDDDD:BB/.../BDF, /sys/bus/pci/devices/BDF links,
// iommu_group and driver links, /sys/kernel/iommu_groups/N/devices links.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace gpuhost::testing {

struct FakeFunction {
  std::string address;  // "0000:01:00.0"
  uint16_t vendor = 0;
  uint16_t device = 0;
  uint32_t class_code = 0;  // 24 bits: 0x030000 VGA
  uint8_t revision = 0xa1;
  uint16_t subsys_vendor = 0;
  uint16_t subsys_device = 0;
  std::string parent;  // upstream bridge address; "" on a root bus
  std::string driver;  // "" when unbound
  int iommu_group = -1;
  std::string numa_node = "-1";  // raw text, so a test can write garbage
  int boot_vga = -1;             // -1: no boot_vga file; else its value
  std::string reset_method;      // "" : no file
  bool powered_down = false;     // config and ids read all ff
};

// An Intel PCIe root port on pcieport.
FakeFunction RootPort(const std::string& address, int iommu_group);
// A function with the fields most tests set; numa_node 0.
FakeFunction Fn(const std::string& address, uint16_t vendor, uint16_t device, uint32_t class_code,
                const std::string& parent, const std::string& driver, int iommu_group);

class SysfsBuilder {
 public:
  // Writes a minimal /proc and an Intel CPU with VT-x under `root`, unless
  // the tree already has them (a second builder on the same tree).
  explicit SysfsBuilder(std::string root);

  // REQUIRES: the parent was added first.
  void Add(const FakeFunction& f);
  void AddIommuUnit(const std::string& name, const std::string& acpi_table);
  // Makes `address` the NIC of the default route (as interface `iface`).
  void SetDefaultRoute(const std::string& address, const std::string& iface);
  // Makes `address` the controller of the root file system's disk.
  void SetRootDisk(const std::string& address, const std::string& disk);
  // A disk `name` (block device `majmin`, "254:16") on the storage
  // controller `address`: its directory under the controller and the
  // /sys/class/block, /sys/block and /sys/dev/block links. Returns the directory.
  std::string AddDisk(const std::string& address, const std::string& name,
                      const std::string& majmin);
  // A partition `name` of the disk `disk` (added first).
  std::string AddPartition(const std::string& disk, const std::string& name,
                           const std::string& majmin);
  // A virtual block device (md0, dm-0, nbd0) under /sys/devices/virtual/block,
  // stacked on `members`: its slaves/ links and each member's holders/ link.
  // `dm_name` ("vg-data", "mpatha") goes to dm/name when not empty.
  void AddStack(const std::string& name, const std::string& majmin,
                const std::vector<std::string>& members, const std::string& dm_name = "");
  // Appends a mount of block device `majmin` at `mount_point` to /proc/self/mountinfo.
  void AddMount(const std::string& majmin, const std::string& mount_point,
                const std::string& source, const std::string& fstype = "ext4");
  // Makes `address` the PCI device of network interface `iface`.
  void AddNic(const std::string& address, const std::string& iface);
  // Creates a symbolic link `path` (root-relative) to the root-relative `target`.
  void Link(const std::string& path, const std::string& target);
  // /proc/sys entries with the kernel's usual defaults for the hardening keys.
  void AddSysctlDefaults();
  // /etc/machine-id and the SMBIOS ids as the kernel shows them: files under
  // /sys/devices/virtual/dmi/id, /sys/class/dmi/id a link there. Each value
  // is written as given plus a newline; "" leaves that file out.
  void SetIdentity(const std::string& machine_id, const std::string& product_uuid,
                   const std::string& product_serial);
  void Write(const std::string& path, const std::string& content);
  void Remove(const std::string& path);
  // The function's directory under /sys/devices (root-relative).
  std::string DevicePath(const std::string& address) const;

 private:
  std::string root_;
  std::map<std::string, std::string> device_paths_;  // address -> /sys/devices/...
};

// Turns a umockdev recording into a sysfs tree under `root`. PCI devices
// (E: SUBSYSTEM=pci) get /sys/bus/pci/devices links; iommu_group links get
// their /sys/kernel/iommu_groups/N/devices entries. Returns the number of
// PCI devices written.
int MaterializeUmockdev(const std::string& recording, const std::string& root);

}  // namespace gpuhost::testing
