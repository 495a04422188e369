#include "inventory/pci_scan.h"

#include <algorithm>
#include <csetjmp>
#include <cstdarg>
#include <cstdio>

extern "C" {
// pci.h has no extern "C" guard of its own.
#include <pci/pci.h>
}

#include "base/strings.h"

namespace gpuhost::inventory {
namespace {

// libpci reports fatal errors through a callback that must not return (its
// default calls exit()). We jump back to the call site instead, so one bad
// device turns into a warning. Only plain C frames lie between setjmp and
// longjmp: the guarded calls below hold no C++ objects.
thread_local std::jmp_buf* g_jump = nullptr;
thread_local char g_error[512];
thread_local std::vector<std::string>* g_libpci_warnings = nullptr;

// GNU attributes, as pci.h declares the callbacks: clang keeps noreturn in the
// function's type only this way, and printf lets -Wformat-nonliteral pass.
__attribute__((noreturn, format(printf, 1, 2))) void OnPciError(char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(g_error, sizeof g_error, fmt, ap);
  va_end(ap);
  if (g_jump != nullptr) std::longjmp(*g_jump, 1);
  // Unreachable in practice: every libpci call below is guarded.
  std::fprintf(stderr, "gpuhost-agent: libpci: %s\n", g_error);
  std::abort();
}

__attribute__((format(printf, 1, 2))) void OnPciWarning(char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (g_libpci_warnings != nullptr) g_libpci_warnings->emplace_back(buf);
}

void OnPciDebug(char*, ...) {}

// Guarded libpci calls: return false (message in g_error) instead of exiting.
bool GuardedInit(pci_access* a) {
  std::jmp_buf jb;
  g_jump = &jb;
  if (setjmp(jb) != 0) {
    g_jump = nullptr;
    return false;
  }
  pci_init(a);
  g_jump = nullptr;
  return true;
}

bool GuardedScan(pci_access* a) {
  std::jmp_buf jb;
  g_jump = &jb;
  if (setjmp(jb) != 0) {
    g_jump = nullptr;
    return false;
  }
  pci_scan_bus(a);
  g_jump = nullptr;
  return true;
}

bool GuardedFill(pci_dev* d, unsigned flags) {
  std::jmp_buf jb;
  g_jump = &jb;
  if (setjmp(jb) != 0) {
    g_jump = nullptr;
    return false;
  }
  pci_fill_info(d, static_cast<int>(flags));
  g_jump = nullptr;
  return true;
}

bool GuardedGetDev(pci_access* a, const PciAddress& addr, pci_dev** out) {
  std::jmp_buf jb;
  g_jump = &jb;
  if (setjmp(jb) != 0) {
    g_jump = nullptr;
    return false;
  }
  *out = pci_get_dev(a, static_cast<int>(addr.domain), addr.bus, addr.device, addr.function);
  g_jump = nullptr;
  return true;
}

std::string Lookup(pci_access* a, int flags, unsigned arg1, unsigned arg2 = 0, unsigned arg3 = 0,
                   unsigned arg4 = 0) {
  char buf[256];
  const char* name =
      pci_lookup_name(a, buf, sizeof buf, flags | PCI_LOOKUP_NO_NUMBERS, arg1, arg2, arg3, arg4);
  return name == nullptr ? std::string() : std::string(name);
}

Role RoleOf(uint16_t vendor, uint16_t cls) {
  if (cls == 0x0300 || cls == 0x0302 || cls == 0x0380) return Role::kGpu;
  if (vendor == 0x10de && cls == 0x0680) return Role::kNvSwitch;
  if ((cls >> 8) == 0x06 && cls != 0x0680) return Role::kBridge;
  return Role::kOther;
}

// A sysfs attribute of one function, or nullopt when the file is missing.
std::optional<std::string> Attr(const Fs& fs, const PciAddress& a, const char* name) {
  auto r = fs.Read("/sys/bus/pci/devices/" + a.ToString() + "/" + name);
  if (!r.ok()) return std::nullopt;
  return std::string(Trim(*r));
}

void Warn(std::vector<Warning>* w, const PciAddress& a, std::string msg) {
  w->push_back({a.ToString(), std::move(msg)});
}

// Reads what libpci leaves out and cross-checks what it parsed leniently
// (libpci's strtol turns garbage into 0 without a word).
void EnrichFromSysfs(const Fs& fs, PciFunction* f, std::vector<Warning>* warnings) {
  const PciAddress& a = f->address;
  for (const char* name : {"vendor", "device", "class"}) {
    auto v = Attr(fs, a, name);
    if (!v) {
      Warn(warnings, a, std::string("missing sysfs attribute '") + name + "'");
    } else if (!ParseHex(*v)) {
      Warn(warnings, a,
           std::string("attribute '") + name + "' reads '" + *v + "', not a hex number");
    }
  }
  if (f->vendor_id == 0xffff) {
    Warn(warnings, a,
         "vendor reads ffff: the function is powered down or gone; its other fields are "
         "meaningless");
  }
  if (auto v = Attr(fs, a, "boot_vga")) {
    if (*v == "1") {
      f->boot_vga = true;
    } else if (*v != "0") {
      Warn(warnings, a, "attribute 'boot_vga' reads '" + *v + "', expected 0 or 1");
    }
  }
  if (auto v = Attr(fs, a, "numa_node")) {
    auto n = ParseInt(*v);
    if (!n) {
      Warn(warnings, a, "attribute 'numa_node' reads '" + *v + "', not a number");
    } else if (*n >= 0 && *n < 4096) {
      f->numa_node = static_cast<int>(*n);
    }  // -1 means "no affinity": the kernel's way of saying unknown.
  }
  if (auto v = Attr(fs, a, "reset_method")) {
    for (auto& m : Split(*v, ' ')) {
      if (!m.empty()) f->reset_methods.push_back(m);
    }
  }
  const std::string dev = "/sys/bus/pci/devices/" + a.ToString();
  if (auto res = fs.Read(dev + "/resource"); res.ok()) {
    int index = 0;
    for (const auto& line : Split(*res, '\n')) {
      auto f3 = Split(std::string(Trim(line)), ' ');
      if (f3.size() >= 2) {
        auto start = ParseHex(f3[0]);
        auto end = ParseHex(f3[1]);
        if (start && end && *end > *start) f->bars.push_back({index, *start, *end});
      }
      if (!Trim(line).empty()) ++index;
    }
  }
  if (auto l = fs.ReadLink(dev + "/iommu_group"); l.ok()) {
    std::string id = l->substr(l->rfind('/') + 1);
    if (auto n = ParseInt(id); n && *n >= 0) {
      f->iommu_group = static_cast<int>(*n);
    } else {
      Warn(warnings, a, "iommu_group link points to '" + *l + "', not a group number");
    }
  }
  if (auto l = fs.ReadLink(dev + "/driver"); l.ok()) {
    f->driver = l->substr(l->rfind('/') + 1);
  }
  // The device's own sysfs path names its upstream bridge:
  // ../../../devices/pci0000:00/0000:00:03.0/0000:02:00.0 -> 0000:00:03.0.
  if (auto l = fs.ReadLink(dev); l.ok()) {
    auto parts = Split(*l, '/');
    if (parts.size() >= 2) {
      if (auto p = PciAddress::Parse(parts[parts.size() - 2])) f->parent = *p;
    }
  }
}

class PciAccess {
 public:
  PciAccess() : a_(pci_alloc()) {
    a_->error = OnPciError;
    a_->warning = OnPciWarning;
    a_->debug = OnPciDebug;
  }
  ~PciAccess() {
    g_libpci_warnings = nullptr;
    pci_cleanup(a_);
  }
  PciAccess(const PciAccess&) = delete;
  PciAccess& operator=(const PciAccess&) = delete;
  pci_access* get() { return a_; }

 private:
  pci_access* a_;
};

}  // namespace

Result<std::vector<PciFunction>> ScanPci(const Fs& fs, const PciSource& source,
                                         std::vector<Warning>* warnings) {
  PciAccess access;
  pci_access* a = access.get();
  std::vector<std::string> libpci_warnings;
  g_libpci_warnings = &libpci_warnings;
  const bool sysfs = source.dump_file.empty();
  std::string sysfs_path = fs.HostPath("/sys/bus/pci");
  // libpci keeps pointers to parameter strings: keep them alive until cleanup.
  std::string dump_name = source.dump_file;
  std::string ids = source.pci_ids;
  if (sysfs) {
    a->method = PCI_ACCESS_SYS_BUS_PCI;
    pci_set_param(a, const_cast<char*>("sysfs.path"), sysfs_path.data());
  } else {
    a->method = PCI_ACCESS_DUMP;
    pci_set_param(a, const_cast<char*>("dump.name"), dump_name.data());
  }
  if (!ids.empty()) pci_set_name_list_path(a, ids.data(), 0);
  if (!GuardedInit(a)) {
    return Status::Unsupported(std::string("libpci: ") + g_error);
  }

  std::vector<pci_dev*> devs;
  if (GuardedScan(a)) {
    for (pci_dev* d = a->devices; d != nullptr; d = d->next) devs.push_back(d);
  } else if (sysfs) {
    // One unreadable device made libpci give up the whole scan: note it and
    // walk the directory ourselves, so the other devices still come out.
    warnings->push_back({sysfs_path, std::string("libpci scan failed (") + g_error +
                                         "); scanning device by device"});
    auto names = fs.List("/sys/bus/pci/devices");
    if (!names.ok()) return names.status();
    for (const auto& n : *names) {
      auto addr = PciAddress::Parse(n);
      pci_dev* d = nullptr;
      if (!addr) {
        warnings->push_back({"/sys/bus/pci/devices/" + n, "not a PCI address; skipped"});
      } else if (!GuardedGetDev(a, *addr, &d) || d == nullptr) {
        Warn(warnings, *addr, std::string("libpci: ") + g_error);
      } else {
        devs.push_back(d);
      }
    }
  } else {
    return Status::Invalid("libpci cannot read dump " + source.dump_file + ": " + g_error);
  }

  const unsigned kBasic = PCI_FILL_IDENT | PCI_FILL_CLASS;
  // Driver, IOMMU group and NUMA node come from sysfs in EnrichFromSysfs,
  // which checks them strictly; libpci would read the same files.
  const unsigned kExtra = PCI_FILL_CLASS_EXT | PCI_FILL_SUBSYS;
  std::vector<PciFunction> out;
  for (pci_dev* d : devs) {
    PciFunction f;
    f.address.domain = static_cast<uint32_t>(d->domain);
    f.address.bus = d->bus;
    f.address.device = d->dev;
    f.address.function = d->func;
    libpci_warnings.clear();
    if (!GuardedFill(d, kBasic)) {
      Warn(warnings, f.address, std::string("libpci could not read identity: ") + g_error);
    }
    // Filled separately so a missing optional attribute does not cost the ids.
    if (!GuardedFill(d, kExtra)) {
      Warn(warnings, f.address, std::string("libpci: ") + g_error);
    }
    for (auto& w : libpci_warnings) Warn(warnings, f.address, "libpci: " + w);
    f.vendor_id = d->vendor_id;
    f.device_id = d->device_id;
    f.class_id = d->device_class;
    if (d->known_fields & PCI_FILL_CLASS_EXT) {
      f.prog_if = d->prog_if;
      f.revision = d->rev_id;
    }
    if ((d->known_fields & PCI_FILL_SUBSYS) && d->subsys_vendor_id != 0xffff &&
        !(d->subsys_vendor_id == 0 && d->subsys_id == 0)) {
      f.subsys_vendor_id = d->subsys_vendor_id;
      f.subsys_device_id = d->subsys_id;
    }
    f.vendor_name = Lookup(a, PCI_LOOKUP_VENDOR, f.vendor_id);
    f.device_name = Lookup(a, PCI_LOOKUP_DEVICE, f.vendor_id, f.device_id);
    if (f.subsys_vendor_id) {
      f.subsys_name = Lookup(a, PCI_LOOKUP_SUBSYSTEM | PCI_LOOKUP_DEVICE, f.vendor_id, f.device_id,
                             *f.subsys_vendor_id, *f.subsys_device_id);
    }
    f.class_name = Lookup(a, PCI_LOOKUP_CLASS, f.class_id);
    f.role = RoleOf(f.vendor_id, f.class_id);
    if (sysfs) EnrichFromSysfs(fs, &f, warnings);
    out.push_back(std::move(f));
  }
  g_libpci_warnings = nullptr;
  std::sort(out.begin(), out.end(),
            [](const PciFunction& x, const PciFunction& y) { return x.address < y.address; });
  return out;
}

}  // namespace gpuhost::inventory
