#include "inventory/system_scan.h"

#include <algorithm>
#include <map>
#include <string>

#include "base/strings.h"
#include "inventory/identity_scan.h"
#include "inventory/remote_scan.h"
#include "inventory/mountinfo.h"

namespace gpuhost::inventory {
namespace {

// "key\t: value" lines of /proc/cpuinfo and "Key:   123 kB" of /proc/meminfo.
std::string_view ValueOf(std::string_view line, std::string_view key) {
  if (!StartsWith(line, key)) return {};
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return {};
  if (Trim(line.substr(0, colon)) != key) return {};
  return Trim(line.substr(colon + 1));
}

void ScanCpu(const Fs& fs, Cpu* cpu, std::vector<Warning>* w) {
  auto text = fs.Read("/proc/cpuinfo");
  if (!text.ok()) {
    w->push_back({"/proc/cpuinfo", text.status().ToString()});
    return;
  }
  bool vmx = false, svm = false;
  for (const auto& line : Split(*text, '\n')) {
    if (auto v = ValueOf(line, "processor"); !v.empty()) cpu->logical_cpus++;
    if (auto v = ValueOf(line, "vendor_id"); !v.empty() && cpu->vendor.empty()) {
      cpu->vendor = v;
    }
    if (auto v = ValueOf(line, "model name"); !v.empty() && cpu->model.empty()) cpu->model = v;
    if (auto v = ValueOf(line, "flags"); !v.empty()) {
      for (const auto& flag : Split(v, ' ')) {
        vmx = vmx || flag == "vmx";
        svm = svm || flag == "svm";
      }
    }
  }
  cpu->virtualization = vmx ? "vmx" : (svm ? "svm" : "");
}

void ScanMemory(const Fs& fs, Memory* m, std::vector<Warning>* w) {
  auto text = fs.Read("/proc/meminfo");
  if (!text.ok()) {
    w->push_back({"/proc/meminfo", text.status().ToString()});
    return;
  }
  auto number = [](std::string_view v) -> uint64_t {
    auto n = ParseInt(Split(v, ' ')[0]);
    return n && *n > 0 ? static_cast<uint64_t>(*n) : 0;
  };
  for (const auto& line : Split(*text, '\n')) {
    if (auto v = ValueOf(line, "MemTotal"); !v.empty()) m->total_kib = number(v);
    if (auto v = ValueOf(line, "HugePages_Total"); !v.empty()) m->hugepages_total = number(v);
    if (auto v = ValueOf(line, "HugePages_Free"); !v.empty()) m->hugepages_free = number(v);
    if (auto v = ValueOf(line, "Hugepagesize"); !v.empty()) m->hugepage_size_kib = number(v);
  }
}

std::string ReadTrimmed(const Fs& fs, const std::string& path, std::vector<Warning>* w) {
  auto r = fs.Read(path);
  if (!r.ok()) {
    w->push_back({path, r.status().ToString()});
    return {};
  }
  return std::string(Trim(*r));
}

// "  80000000-802fffff : BOOTFB" lines of /proc/iomem (nested, indented).
// Without root the kernel shows zeros: then nothing is listed.
std::vector<Framebuffer> ScanFramebuffers(const Fs& fs) {
  std::vector<Framebuffer> out;
  auto iomem = fs.Read("/proc/iomem");
  if (!iomem.ok()) return out;
  for (const auto& line : Split(*iomem, '\n')) {
    size_t colon = line.find(" : ");
    if (colon == std::string::npos) continue;
    std::string name(Trim(line.substr(colon + 3)));
    if (name != "BOOTFB" && name != "efifb" && name != "vesafb" && name != "simplefb" &&
        name != "simple-framebuffer" && name != "simpledrm") {
      continue;
    }
    auto range = Split(std::string(Trim(line.substr(0, colon))), '-');
    if (range.size() != 2) continue;
    auto start = ParseHex(range[0]);
    auto end = ParseHex(range[1]);
    if (start && end && *end > 0) out.push_back({name, *start, *end});
  }
  return out;
}

// Mount points whose top mount is autofs: automounts nobody has triggered
// yet, like the ESP's boot.automount on the images. Looking inside one mounts
// it, and the look waits for the mount: 8 s under TCG at boot, in the path to
// the first /healthz. The agent does not mount file systems to look around.
std::vector<std::string> UntriggeredAutomounts(const Fs& fs) {
  auto info = fs.Read("/proc/self/mountinfo");
  if (!info.ok()) return {};
  std::map<std::string, std::string> top;  // mount point -> type of its last mount
  for (const auto& line : Split(*info, '\n')) {
    if (auto m = ParseMountInfoLine(line)) top[m->mount_point] = m->fstype;
  }
  std::vector<std::string> out;
  for (const auto& [point, type] : top) {
    if (type == "autofs") out.push_back(point);
  }
  return out;
}

bool BehindAny(const std::vector<std::string>& points, const std::string& path) {
  return std::any_of(points.begin(), points.end(), [&](const std::string& p) {
    return path == p || StartsWith(path, p == "/" ? p : p + "/");
  });
}

// GRUB's config or systemd-boot's entries, without triggering an automount:
// the images' /boot is the ESP's automount and holds neither (UKIs carry their
// command line), so "" is the answer there, as for a PXE boot.
std::string Bootloader(const Fs& fs) {
  const auto automounts = UntriggeredAutomounts(fs);
  auto exists = [&](const std::string& p) { return !BehindAny(automounts, p) && fs.Exists(p); };
  auto is_dir = [&](const std::string& p) { return !BehindAny(automounts, p) && fs.IsDir(p); };
  if (exists("/boot/grub/grub.cfg")) return "grub";
  if (is_dir("/boot/efi/loader/entries") || is_dir("/efi/loader/entries") ||
      is_dir("/boot/loader/entries")) {
    return "systemd-boot";
  }
  return "";
}

}  // namespace

// Absent on kernels without NUMA support: then nothing is recorded.
std::map<int, std::string> ScanNumaCpus(const Fs& fs) {
  std::map<int, std::string> out;
  auto nodes = fs.List("/sys/devices/system/node");
  if (!nodes.ok()) return out;
  for (const auto& n : *nodes) {
    if (!StartsWith(n, "node")) continue;
    auto id = ParseInt(n.substr(4));
    if (!id || *id < 0) continue;
    auto cpus = fs.Read("/sys/devices/system/node/" + n + "/cpulist");
    if (cpus.ok()) out[static_cast<int>(*id)] = std::string(Trim(*cpus));
  }
  return out;
}

System ScanSystem(const Fs& fs, std::vector<Warning>* warnings) {
  System s;
  ScanCpu(fs, &s.cpu, warnings);
  ScanMemory(fs, &s.memory, warnings);
  s.identity = ScanIdentity(fs);
  s.remote_libvirt = ScanRemoteLibvirt(fs, warnings);
  s.kernel_release = ReadTrimmed(fs, "/proc/sys/kernel/osrelease", warnings);
  s.cmdline = ReadTrimmed(fs, "/proc/cmdline", warnings);
  s.kvm_device = fs.Exists("/dev/kvm");
  s.framebuffers = ScanFramebuffers(fs);
  s.numa_cpus = ScanNumaCpus(fs);
  s.bootloader = Bootloader(fs);
  if (auto units = fs.List("/sys/class/iommu"); units.ok()) {
    s.iommu.units = *units;
    s.iommu.enabled = !units->empty();
  }
  // The firmware's table, not the CPU vendor, says which IOMMU exists: qemu
  // can show an AMD CPU next to an Intel IOMMU.
  if (fs.Exists("/sys/firmware/acpi/tables/DMAR")) {
    s.iommu.firmware_table = "DMAR";
  } else if (fs.Exists("/sys/firmware/acpi/tables/IVRS")) {
    s.iommu.firmware_table = "IVRS";
  }
  return s;
}

std::vector<IommuGroup> ScanIommuGroups(const Fs& fs, std::vector<Warning>* warnings) {
  std::vector<IommuGroup> groups;
  auto ids = fs.List("/sys/kernel/iommu_groups");
  if (!ids.ok()) return groups;  // no IOMMU: no groups, and that is reported elsewhere
  for (const auto& id : *ids) {
    auto n = ParseInt(id);
    std::string dir = "/sys/kernel/iommu_groups/" + id;
    if (!n || *n < 0) {
      warnings->push_back({dir, "not a group number; skipped"});
      continue;
    }
    IommuGroup g;
    g.id = static_cast<int>(*n);
    if (auto t = fs.Read(dir + "/type"); t.ok()) g.type = Trim(*t);
    if (auto members = fs.List(dir + "/devices"); members.ok()) {
      for (const auto& m : *members) {
        if (auto a = PciAddress::Parse(m)) {
          g.members.push_back(*a);
        } else {
          warnings->push_back({dir + "/devices/" + m, "not a PCI address; skipped"});
        }
      }
    } else {
      warnings->push_back({dir + "/devices", members.status().ToString()});
    }
    std::sort(g.members.begin(), g.members.end());
    groups.push_back(std::move(g));
  }
  std::sort(groups.begin(), groups.end(),
            [](const IommuGroup& a, const IommuGroup& b) { return a.id < b.id; });
  return groups;
}

}  // namespace gpuhost::inventory
