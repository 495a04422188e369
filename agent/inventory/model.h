// What the machine is: the inventory stage's output and the plan stage's
// input. Plain structs; JSON in json.h, text tables in text.h. Every field is
// what the kernel or the hardware said, never a guess: unknown stays empty.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace gpuhost::inventory {

// A PCI function address. Domains can need five hex digits (Intel VMD puts
// devices in 10000+), so the domain is 32 bits wide.
struct PciAddress {
  uint32_t domain = 0;
  uint8_t bus = 0;
  uint8_t device = 0;    // 0..31
  uint8_t function = 0;  // 0..7

  // "0000:65:00.0"; at least four domain digits, more when needed.
  std::string ToString() const;
  // Accepts "DDDD:BB:dd.f" (4+ domain digits) and "BB:dd.f" (domain 0).
  static std::optional<PciAddress> Parse(const std::string& text);
  // Same domain, bus and device: functions of one slot (a GPU and its HDMI
  // audio, USB and UCSI functions).
  bool SameSlot(const PciAddress& o) const {
    return domain == o.domain && bus == o.bus && device == o.device;
  }
  auto operator<=>(const PciAddress&) const = default;
};

// Why a function is interesting to a GPU host.
enum class Role {
  kOther,
  kGpu,           // class 0x0300 VGA, 0x0302 3D, 0x0380 display
  kGpuCompanion,  // another function in a GPU's slot (HDMI audio, USB, UCSI)
  kNvSwitch,      // NVIDIA class 0x0680 (NVSwitch): flagged, never a GPU
  kBridge,        // class 0x0604/0x0600 etc: fine inside an IOMMU group
};
const char* RoleName(Role r);

struct Warning {
  std::string where;  // a PCI address, a file path, or "inventory"
  std::string message;
};

struct PciFunction {
  PciAddress address;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
  std::optional<uint16_t> subsys_vendor_id;
  std::optional<uint16_t> subsys_device_id;
  std::string vendor_name;  // from pci.ids; empty when unknown
  std::string device_name;
  std::string subsys_name;
  uint16_t class_id = 0;  // base class and subclass: 0x0300
  uint8_t prog_if = 0;
  uint8_t revision = 0;
  std::string class_name;
  std::optional<std::string> driver;       // bound driver (basename of `driver`)
  std::optional<int> iommu_group;          // from the `iommu_group` link
  std::optional<int> numa_node;            // empty for -1 (no affinity) or unknown
  bool boot_vga = false;                   // `boot_vga` reads 1
  std::optional<PciAddress> parent;        // upstream bridge, from the sysfs path
  std::vector<std::string> reset_methods;  // `reset_method`, e.g. flr, bus
  Role role = Role::kOther;
  // Memory and I/O windows from `resource` (BARs 0-5 and the ROM), unset ones left out.
  struct Bar {
    int index = 0;
    uint64_t start = 0;
    uint64_t end = 0;  // inclusive
  };
  std::vector<Bar> bars;
};

// A firmware framebuffer the kernel reserved at boot (/proc/iomem): while it
// sits on a GPU's BAR, vfio-pci cannot claim that BAR ("can't reserve").
struct Framebuffer {
  std::string name;  // BOOTFB, efifb, vesafb, simplefb, simpledrm
  uint64_t start = 0;
  uint64_t end = 0;
};

struct Gpu {
  PciAddress address;                  // the display-class function
  std::string kind;                    // "vga", "3d", "display"
  std::vector<PciAddress> companions;  // other functions of its slot
  bool boot_vga = false;
  std::optional<int> iommu_group;
  std::optional<int> numa_node;
  std::string vendor_name;
  std::string model;
};

struct IommuGroup {
  int id = 0;
  std::string type;  // /sys/kernel/iommu_groups/N/type: DMA, DMA-FQ, identity
  std::vector<PciAddress> members;
};

struct Cpu {
  std::string vendor;  // GenuineIntel, AuthenticAMD
  std::string model;
  int logical_cpus = 0;
  std::string virtualization;  // "vmx", "svm" or "" (none)
};

struct Iommu {
  bool enabled = false;            // /sys/class/iommu has a unit
  std::vector<std::string> units;  // dmar0, ivhd0, ...
  std::string firmware_table;      // "DMAR" (Intel VT-d), "IVRS" (AMD-Vi) or ""
};

struct Memory {
  uint64_t total_kib = 0;
  uint64_t hugepages_total = 0;
  uint64_t hugepages_free = 0;
  uint64_t hugepage_size_kib = 0;
};

// Ids that name this machine elsewhere; "" when the file is absent or
// unreadable (inventory/identity_scan.h).
struct Identity {
  std::string machine_id;      // /etc/machine-id (systemd's, per installation)
  std::string product_uuid;    // SMBIOS system UUID: what the BMC and the cloud call it
  std::string product_serial;  // SMBIOS system serial number (chassis label, asset lists)
};

// libvirt over TLS for a remote manager (inventory/remote_scan.h): what
// gpuhost-remote-libvirt.service installed at this boot, and whether anything
// listens on its port.
struct RemoteLibvirt {
  bool configured = false;  // the record is there: credentials installed this boot
  bool listening = false;   // a TCP socket listens on `port` (/proc/net/tcp, tcp6)
  int port = 0;
  std::string server_subject;           // RFC 2253
  std::string ca_subject;               // clients' certificates must chain to this CA
  std::vector<std::string> allowed_dn;  // empty: any certificate the CA signed
  std::string error;                    // the record exists but cannot be read
  bool operator==(const RemoteLibvirt&) const = default;
};

struct System {
  Cpu cpu;
  Identity identity;
  RemoteLibvirt remote_libvirt;
  Iommu iommu;
  Memory memory;
  bool kvm_device = false;  // /dev/kvm exists
  std::string kernel_release;
  std::string cmdline;
  // Which bootloader takes kernel parameters: "grub" (/boot/grub/grub.cfg),
  // "systemd-boot" (loader/ on the ESP), "" when neither is found (a UKI
  // with a baked command line, PXE, or a container).
  std::string bootloader;
  std::vector<Framebuffer> framebuffers;
  // NUMA node -> its CPUs as the kernel lists them ("0-15,32-47"), from
  // /sys/devices/system/node/nodeN/cpulist: where to pin a GPU's VM.
  std::map<int, std::string> numa_cpus;
};

// A function the running host depends on.
struct CriticalDevice {
  PciAddress address;
  // "/dev/vda1 mounted at /", "/dev/sda2 used as swap", "/dev/sdb in md0,
  // mounted at /srv", "default route via eth0", "boot console (boot_vga)"
  std::string why;
};

// Controllers whose use by the host can be unknown: PCI base class 0x01 and 0x02.
enum class UseClass { kStorage, kNetwork };
const char* UseClassName(UseClass c);  // "storage", "network"

// The host's use of one class of controllers that could not be read, or a
// use that cannot be tied to a device (software iSCSI, nbd, a ZFS pool).
// While one is listed the plan moves no controller of that class, nor its
// IOMMU group: an empty `critical` list alone never means "nothing in use".
struct UnknownUse {
  UseClass use_class = UseClass::kStorage;
  std::string source;  // "/proc/self/mountinfo", "/sys/class/block/nbd0/pid"
  std::string why;     // "cannot be read: NotFound: ..."
  bool operator==(const UnknownUse&) const = default;
};

// A VM libvirt knows about.
struct VirtDomain {
  std::string name;
  std::string state;  // running, paused, shut off, ...
  bool active = false;
  std::vector<PciAddress> hostdevs;  // PCI functions assigned to it
  bool operator==(const VirtDomain&) const = default;
};

// What libvirt says (qemu:///system), when it runs.
struct Virtualization {
  bool libvirt_connected = false;
  std::string libvirt_uri;
  std::string libvirt_error;  // why not connected (not fatal)
  bool kvm_usable = false;
  std::string kvm_reason;            // why not, or "" when usable
  std::optional<bool> hostdev_vfio;  // domain capabilities: PCI hostdev with the vfio backend
  // The domain capabilities' default <domain> type: "kvm", or "qemu" (TCG,
  // no KVM for libvirt); "" when not asked.
  std::string virt_type;
  std::vector<VirtDomain> domains;
  bool operator==(const Virtualization&) const = default;
  // The VM (active first) that has this function as a host device, or "".
  std::string OwnerOf(const PciAddress& a) const;
  bool UsedByActiveVm(const PciAddress& a) const;
};

struct Inventory {
  std::string source;  // "sysfs:/", "sysfs:/path/to/root", "dump:FILE"
  System system;
  std::vector<PciFunction> functions;  // sorted by address
  std::vector<Gpu> gpus;               // sorted by address
  std::vector<PciAddress> nvswitches;
  std::vector<IommuGroup> iommu_groups;  // sorted by id
  std::vector<CriticalDevice> critical;  // sorted by address
  std::vector<UnknownUse> host_use_unknown;
  Virtualization virt;
  std::vector<Warning> warnings;

  const PciFunction* Find(const PciAddress& a) const;
  // Why the host needs this function ("" when it does not).
  std::string CriticalWhy(const PciAddress& a) const;
  // Why the host's use of this function's class is unknown ("SOURCE: WHY",
  // joined with "; "), "" when known or the class is neither storage nor network.
  std::string UnknownUseWhy(uint16_t class_id) const;
  const IommuGroup* Group(int id) const;
};

}  // namespace gpuhost::inventory
