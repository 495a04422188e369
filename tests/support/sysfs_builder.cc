#include "support/sysfs_builder.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "base/strings.h"

namespace gpuhost::testing {
namespace {

namespace fs = std::filesystem;

std::string HexAttr(uint64_t v, int width) { return "0x" + Hex(v, width) + "\n"; }

void WriteFile(const std::string& path, const std::string& content) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
}

// A relative link target from the directory of `from` to `to` (both absolute).
std::string Relative(const std::string& from, const std::string& to) {
  return fs::path(to).lexically_relative(fs::path(from).parent_path()).string();
}

std::string Config(const FakeFunction& f) {
  std::string c(64, '\0');
  if (f.powered_down) return std::string(64, '\xff');
  auto put16 = [&](size_t off, uint16_t v) {
    c[off] = static_cast<char>(v & 0xff);
    c[off + 1] = static_cast<char>(v >> 8);
  };
  put16(0, f.vendor);
  put16(2, f.device);
  put16(4, 0x0006);
  put16(6, 0x0010);
  c[8] = static_cast<char>(f.revision);
  c[9] = static_cast<char>(f.class_code & 0xff);
  c[10] = static_cast<char>((f.class_code >> 8) & 0xff);
  c[11] = static_cast<char>((f.class_code >> 16) & 0xff);
  bool bridge = (f.class_code >> 8) == 0x0604;
  c[14] = bridge ? 1 : 0;
  if (!bridge) {
    put16(0x2c, f.subsys_vendor);
    put16(0x2e, f.subsys_device);
  }
  return c;
}

}  // namespace

FakeFunction RootPort(const std::string& address, int iommu_group) {
  FakeFunction f;
  f.address = address;
  f.vendor = 0x8086;
  f.device = 0x1901;
  f.class_code = 0x060400;
  f.driver = "pcieport";
  f.iommu_group = iommu_group;
  return f;
}

FakeFunction Fn(const std::string& address, uint16_t vendor, uint16_t device, uint32_t class_code,
                const std::string& parent, const std::string& driver, int iommu_group) {
  FakeFunction f;
  f.address = address;
  f.vendor = vendor;
  f.device = device;
  f.class_code = class_code;
  f.parent = parent;
  f.driver = driver;
  f.iommu_group = iommu_group;
  f.numa_node = "0";
  return f;
}

SysfsBuilder::SysfsBuilder(std::string root) : root_(std::move(root)) {
  // A second builder on the same tree keeps what the first one wrote.
  if (fs::exists(root_ + "/proc/cpuinfo")) return;
  Write("/proc/cpuinfo",
        "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Test Xeon\n"
        "flags\t\t: fpu vmx sse2\n\nprocessor\t: 1\nvendor_id\t: GenuineIntel\n"
        "model name\t: Test Xeon\nflags\t\t: fpu vmx sse2\n");
  Write("/proc/meminfo",
        "MemTotal:       65536000 kB\nHugePages_Total:       8\nHugePages_Free:        8\n"
        "Hugepagesize:       2048 kB\n");
  Write("/proc/cmdline", "BOOT_IMAGE=/vmlinuz root=/dev/sda1 intel_iommu=on\n");
  Write("/proc/sys/kernel/osrelease", "6.12.0-test\n");
  // Root on a file system without a block device (as in a container).
  Write("/proc/self/mountinfo", "21 1 0:30 / / rw,relatime - overlay overlay rw\n");
  // No swap, no routes: known and empty, as on a machine with no network up.
  Write("/proc/swaps", "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n");
  Write("/proc/net/route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n");
  Write("/proc/net/ipv6_route", "");
  fs::create_directories(root_ + "/sys/bus/pci/devices");
  // The kernel always has these class folders, empty or not.
  fs::create_directories(root_ + "/sys/class/block");
  fs::create_directories(root_ + "/sys/class/net");
}

void SysfsBuilder::Write(const std::string& path, const std::string& content) {
  WriteFile(root_ + path, content);
}

void SysfsBuilder::Remove(const std::string& path) { fs::remove(root_ + path); }

void SysfsBuilder::Link(const std::string& path, const std::string& target) {
  fs::create_directories(fs::path(root_ + path).parent_path());
  fs::remove(root_ + path);
  fs::create_symlink(Relative(path, target), root_ + path);
}

std::string SysfsBuilder::DevicePath(const std::string& address) const {
  auto it = device_paths_.find(address);
  if (it != device_paths_.end()) return it->second;
  // Added by another builder on the same tree: follow the bus link.
  std::string link = "/sys/bus/pci/devices/" + address;
  return fs::path(fs::path(link).parent_path() / fs::read_symlink(root_ + link))
      .lexically_normal()
      .string();
}

void SysfsBuilder::Add(const FakeFunction& f) {
  std::string dir;
  if (f.parent.empty()) {
    // pciDDDD:BB from "DDDD:BB:dd.f"
    size_t last = f.address.rfind(':');
    dir = "/sys/devices/pci" + f.address.substr(0, last) + "/" + f.address;
  } else {
    dir = device_paths_.at(f.parent) + "/" + f.address;
  }
  device_paths_[f.address] = dir;
  bool ff = f.powered_down;
  Write(dir + "/vendor", HexAttr(ff ? 0xffff : f.vendor, 4));
  Write(dir + "/device", HexAttr(ff ? 0xffff : f.device, 4));
  Write(dir + "/class", HexAttr(ff ? 0xffffff : f.class_code, 6));
  Write(dir + "/revision", HexAttr(ff ? 0xff : f.revision, 2));
  Write(dir + "/subsystem_vendor", HexAttr(ff ? 0xffff : f.subsys_vendor, 4));
  Write(dir + "/subsystem_device", HexAttr(ff ? 0xffff : f.subsys_device, 4));
  Write(dir + "/config", Config(f));
  Write(dir + "/irq", "0\n");
  Write(dir + "/resource", "0x0000000000000000 0x0000000000000000 0x0000000000000000\n");
  Write(dir + "/numa_node", f.numa_node + "\n");
  Write(dir + "/enable", "1\n");
  Write(dir + "/driver_override", "(null)\n");
  if (f.boot_vga >= 0) Write(dir + "/boot_vga", std::to_string(f.boot_vga) + "\n");
  if (!f.reset_method.empty()) Write(dir + "/reset_method", f.reset_method + "\n");
  Link("/sys/bus/pci/devices/" + f.address, dir);
  if (!f.driver.empty()) {
    fs::create_directories(root_ + "/sys/bus/pci/drivers/" + f.driver);
    Link(dir + "/driver", "/sys/bus/pci/drivers/" + f.driver);
  }
  if (f.iommu_group >= 0) {
    std::string g = "/sys/kernel/iommu_groups/" + std::to_string(f.iommu_group);
    Write(g + "/type", "DMA\n");
    Link(dir + "/iommu_group", g);
    Link(g + "/devices/" + f.address, dir);
  }
}

void SysfsBuilder::AddIommuUnit(const std::string& name, const std::string& acpi_table) {
  fs::create_directories(root_ + "/sys/devices/virtual/iommu/" + name);
  Link("/sys/class/iommu/" + name, "/sys/devices/virtual/iommu/" + name);
  if (!acpi_table.empty()) Write("/sys/firmware/acpi/tables/" + acpi_table, "table");
}

void SysfsBuilder::SetDefaultRoute(const std::string& address, const std::string& iface) {
  Write("/proc/net/route",
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n" +
            iface + "\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n");
  Link("/sys/class/net/" + iface, DevicePath(address) + "/net/" + iface);
  fs::create_directories(root_ + DevicePath(address) + "/net/" + iface);
}

void SysfsBuilder::SetRootDisk(const std::string& address, const std::string& disk) {
  Write("/proc/self/mountinfo",
        "25 1 259:1 / / rw,relatime shared:1 - ext4 /dev/" + disk + "p1 rw\n");
  std::string dir = DevicePath(address) + "/nvme/nvme0/" + disk + "/" + disk + "p1";
  fs::create_directories(root_ + dir);
  Link("/sys/dev/block/259:1", dir);
}

std::string SysfsBuilder::AddDisk(const std::string& address, const std::string& name,
                                  const std::string& majmin) {
  std::string dir = DevicePath(address) + "/block/" + name;
  Write(dir + "/dev", majmin + "\n");
  Link("/sys/class/block/" + name, dir);
  Link("/sys/block/" + name, dir);
  Link("/sys/dev/block/" + majmin, dir);
  fs::create_directories(root_ + dir + "/holders");
  return dir;
}

std::string SysfsBuilder::AddPartition(const std::string& disk, const std::string& name,
                                       const std::string& majmin) {
  std::string dir =
      fs::path(fs::path("/sys/class/block") / fs::read_symlink(root_ + "/sys/class/block/" + disk))
          .lexically_normal()
          .string() +
      "/" + name;
  Write(dir + "/dev", majmin + "\n");
  Write(dir + "/partition", "1\n");
  Link("/sys/class/block/" + name, dir);
  Link("/sys/dev/block/" + majmin, dir);
  fs::create_directories(root_ + dir + "/holders");
  return dir;
}

void SysfsBuilder::AddStack(const std::string& name, const std::string& majmin,
                            const std::vector<std::string>& members, const std::string& dm_name) {
  std::string dir = "/sys/devices/virtual/block/" + name;
  Write(dir + "/dev", majmin + "\n");
  if (!dm_name.empty()) Write(dir + "/dm/name", dm_name + "\n");
  fs::create_directories(root_ + dir + "/holders");
  fs::create_directories(root_ + dir + "/slaves");
  Link("/sys/class/block/" + name, dir);
  Link("/sys/block/" + name, dir);
  Link("/sys/dev/block/" + majmin, dir);
  for (const auto& m : members) {
    std::string member =
        fs::path(fs::path("/sys/class/block") / fs::read_symlink(root_ + "/sys/class/block/" + m))
            .lexically_normal()
            .string();
    Link(dir + "/slaves/" + m, member);
    Link(member + "/holders/" + name, dir);
  }
}

void SysfsBuilder::AddMount(const std::string& majmin, const std::string& mount_point,
                            const std::string& source, const std::string& fstype) {
  std::ifstream in(root_ + "/proc/self/mountinfo");
  std::stringstream old;
  old << in.rdbuf();
  Write("/proc/self/mountinfo", old.str() + "40 1 " + majmin + " / " + mount_point +
                                    " rw,relatime shared:9 - " + fstype + " " + source + " rw\n");
}

void SysfsBuilder::AddNic(const std::string& address, const std::string& iface) {
  Link("/sys/class/net/" + iface, DevicePath(address) + "/net/" + iface);
  fs::create_directories(root_ + DevicePath(address) + "/net/" + iface);
}

void SysfsBuilder::SetIdentity(const std::string& machine_id, const std::string& product_uuid,
                               const std::string& product_serial) {
  if (!machine_id.empty()) Write("/etc/machine-id", machine_id + "\n");
  const std::string dmi = "/sys/devices/virtual/dmi/id";
  if (!product_uuid.empty()) Write(dmi + "/product_uuid", product_uuid + "\n");
  if (!product_serial.empty()) Write(dmi + "/product_serial", product_serial + "\n");
  fs::create_directories(root_ + dmi);
  Link("/sys/class/dmi/id", dmi);
}

void SysfsBuilder::AddSysctlDefaults() {
  for (const char* kv : {"kernel/kptr_restrict=0",
                         "kernel/dmesg_restrict=0",
                         "kernel/unprivileged_bpf_disabled=2",
                         "net/core/bpf_jit_harden=0",
                         "kernel/kexec_load_disabled=0",
                         "kernel/perf_event_paranoid=2",
                         "kernel/randomize_va_space=2",
                         "kernel/sysrq=438",
                         "dev/tty/ldisc_autoload=1",
                         "fs/protected_symlinks=1",
                         "fs/protected_hardlinks=1",
                         "fs/protected_fifos=1",
                         "fs/protected_regular=2",
                         "fs/suid_dumpable=0",
                         "net/ipv4/conf/all/accept_redirects=1",
                         "net/ipv4/conf/default/accept_redirects=1",
                         "net/ipv6/conf/all/accept_redirects=1",
                         "net/ipv4/conf/all/send_redirects=1",
                         "net/ipv4/tcp_syncookies=1",
                         "kernel/oops_limit=10000",
                         "vm/mmap_rnd_bits=28",
                         "vm/mmap_rnd_compat_bits=8",
                         "net/ipv6/conf/default/accept_redirects=1",
                         "net/ipv4/conf/default/accept_source_route=1",
                         "net/ipv6/conf/all/accept_ra=1",
                         "net/ipv6/conf/default/accept_ra=1",
                         "kernel/io_uring_disabled=0",
                         "vm/unprivileged_userfaultfd=0",
                         "vm/nr_hugepages=0"}) {
    std::string s = kv;
    size_t eq = s.find('=');
    Write("/proc/sys/" + s.substr(0, eq), s.substr(eq + 1) + "\n");
  }
  // No Yama in this kernel: kernel.yama.ptrace_scope is absent on purpose.
}

namespace {

// umockdev escapes attribute values C-style (\n, \\, \ooo octal).
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char n = s[++i];
    if (n == 'n') {
      out += '\n';
    } else if (n >= '0' && n <= '7' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i, 3), nullptr, 8));
      i += 2;
    } else {
      out += n;
    }
  }
  return out;
}

std::string FromHex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return out;
}

}  // namespace

int MaterializeUmockdev(const std::string& recording, const std::string& root) {
  std::ifstream in(recording);
  EXPECT_TRUE(in.good()) << "cannot read " << recording;
  std::string line, dev;
  bool is_pci = false;
  int count = 0;
  auto finish = [&] {
    if (!dev.empty() && is_pci) {
      std::string bdf = fs::path(dev).filename().string();
      std::string link = root + "/sys/bus/pci/devices/" + bdf;
      fs::create_directories(fs::path(link).parent_path());
      if (!fs::is_symlink(link)) {
        fs::create_symlink(Relative("/sys/bus/pci/devices/" + bdf, "/sys" + dev), link);
        ++count;
      }
    }
    is_pci = false;
  };
  while (std::getline(in, line)) {
    if (line.size() < 3 || line[1] != ':') continue;
    char kind = line[0];
    std::string rest = line.substr(3);
    if (kind == 'P') {
      finish();
      dev = rest;
      fs::create_directories(root + "/sys" + dev);
      continue;
    }
    size_t eq = rest.find('=');
    if (eq == std::string::npos) continue;
    std::string name = rest.substr(0, eq), value = rest.substr(eq + 1);
    std::string path = root + "/sys" + dev + "/" + name;
    if (kind == 'E' && name == "SUBSYSTEM") is_pci = value == "pci";
    if (kind == 'A') WriteFile(path, Unescape(value) + "\n");
    if (kind == 'H') WriteFile(path, FromHex(value));
    if (kind == 'L') {
      fs::create_directories(fs::path(path).parent_path());
      if (!fs::exists(fs::symlink_status(path))) fs::create_symlink(value, path);
      if (name == "iommu_group") {
        std::string group = fs::path(value).filename().string();
        std::string bdf = fs::path(dev).filename().string();
        std::string g = "/sys/kernel/iommu_groups/" + group + "/devices/" + bdf;
        fs::create_directories(fs::path(root + g).parent_path());
        if (!fs::exists(fs::symlink_status(root + g))) {
          fs::create_symlink(Relative(g, "/sys" + dev), root + g);
        }
      }
    }
  }
  finish();
  return count;
}

}  // namespace gpuhost::testing
