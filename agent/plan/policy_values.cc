#include "plan/policy_values.h"

#include <arpa/inet.h>

#include <cctype>

#include "base/strings.h"

namespace gpuhost::plan {
namespace {

// When a parameter's value is refused.
enum class When {
  kAny,       // any value, or none
  kIs,        // the value is `value` (ignoring case)
  kListHas,   // a comma-separated value has `value` as one item
  kTrue,      // no value, or a value the kernel reads as true (kstrtobool)
  kFalse,     // a value the kernel reads as false: 0, n, off
  kNotOneOf,  // anything but the comma-separated `value`s
};

struct Refusal {
  const char* name;  // with '_' where the kernel also accepts '-'
  When when;
  const char* value;
  const char* reason;
};

constexpr const char kMitigation[] =
    "turns a CPU side-channel mitigation off: a VM could read the memory of the host or of "
    "other VMs";
constexpr const char kIommuOff[] =
    "turns the IOMMU off: no device can go to vfio-pci and every device can DMA anywhere in "
    "host memory";
constexpr const char kLsm[] =
    "turns a Linux security module off or replaces the list the kernel was built with";

// Keep in step with docs/policy.md, "Kernel parameters refused".
constexpr Refusal kRefused[] = {
    {"init", When::kAny, "",
     "runs another program as PID 1 instead of systemd: the agent and the hardening would not "
     "run"},
    {"rdinit", When::kAny, "", "runs another program as the initramfs's PID 1"},
    {"module.sig_enforce", When::kFalse, "", "lets kernel modules without a valid signature load"},
    {"lockdown", When::kNotOneOf, "integrity,confidentiality",
     "only 'integrity' and 'confidentiality' raise kernel lockdown; anything else asks for less"},
    {"mitigations", When::kIs, "off", kMitigation},
    {"nopti", When::kAny, "", kMitigation},
    {"pti", When::kIs, "off", kMitigation},
    {"nospectre_v1", When::kAny, "", kMitigation},
    {"nospectre_v2", When::kAny, "", kMitigation},
    {"spectre_v2", When::kIs, "off", kMitigation},
    {"spectre_v2_user", When::kIs, "off", kMitigation},
    {"nospec_store_bypass_disable", When::kAny, "", kMitigation},
    {"spec_store_bypass_disable", When::kIs, "off", kMitigation},
    {"l1tf", When::kIs, "off", kMitigation},
    {"mds", When::kIs, "off", kMitigation},
    {"tsx_async_abort", When::kIs, "off", kMitigation},
    {"mmio_stale_data", When::kIs, "off", kMitigation},
    {"retbleed", When::kIs, "off", kMitigation},
    {"srbds", When::kIs, "off", kMitigation},
    {"gather_data_sampling", When::kIs, "off", kMitigation},
    {"spec_rstack_overflow", When::kIs, "off", kMitigation},
    {"kvm.nx_huge_pages", When::kIs, "off", kMitigation},
    {"kvm_intel.vmentry_l1d_flush", When::kIs, "never", kMitigation},
    {"nosmap", When::kAny, "", "lets the kernel read and write user memory by accident (SMAP off)"},
    {"nosmep", When::kAny, "", "lets the kernel run code from user memory (SMEP off)"},
    {"nokaslr", When::kAny, "", "puts the kernel at a known address (KASLR off)"},
    {"iommu", When::kIs, "off", kIommuOff},
    {"intel_iommu", When::kListHas, "off", kIommuOff},
    {"amd_iommu", When::kListHas, "off", kIommuOff},
    {"amd_iommu", When::kIs, "on",
     "'amd_iommu=on' is not a valid value (the AMD IOMMU is on by default; the kernel logs "
     "'Unknown option'); remove it"},
    {"vfio_iommu_type1.allow_unsafe_interrupts", When::kTrue, "",
     "lets a VM's device raise any interrupt on hosts without interrupt remapping"},
    {"vfio.enable_unsafe_noiommu_mode", When::kTrue, "",
     "vfio without an IOMMU: a VM's device could DMA anywhere in host memory"},
    {"vfio_pci.ids", When::kAny, "",
     "vfio-pci.ids= captures every GPU with that vendor:device, host GPUs of the same model "
     "too; choose GPUs with 'gpus' rules instead"},
    {"selinux", When::kFalse, "", kLsm},
    {"enforcing", When::kFalse, "", kLsm},
    {"apparmor", When::kFalse, "", kLsm},
    {"security", When::kAny, "", kLsm},
    {"lsm", When::kAny, "", kLsm},
    {"audit", When::kFalse, "", "turns the kernel's audit log off"},
    {"debugfs", When::kIs, "on", "mounts debugfs with kernel internals readable and writable"},
    {"iomem", When::kIs, "relaxed",
     "lets /dev/mem map device memory a driver owns (a VM's GPU among them)"},
    {"sysrq_always_enabled", When::kAny, "",
     "enables every SysRq function on the console whatever kernel.sysrq says"},
};

bool ListHas(std::string_view list, std::string_view item) {
  for (const auto& s : Split(list, ',')) {
    if (EqualsIgnoreCase(s, item)) return true;
  }
  return false;
}

// The kernel's kstrtobool: y, Y, 1, "on" are true; n, N, 0, "off" false.
std::optional<bool> KernelBool(std::string_view v) {
  if (v.empty()) return std::nullopt;
  char c = static_cast<char>(std::tolower(static_cast<unsigned char>(v[0])));
  if (c == 'y' || c == '1') return true;
  if (c == 'n' || c == '0') return false;
  if (c == 'o' && v.size() > 1) {
    char d = static_cast<char>(std::tolower(static_cast<unsigned char>(v[1])));
    if (d == 'n') return true;
    if (d == 'f') return false;
  }
  return std::nullopt;
}

bool Matches(const Refusal& r, bool has_value, std::string_view value) {
  switch (r.when) {
    case When::kAny:
      return true;
    case When::kIs:
      return has_value && EqualsIgnoreCase(value, r.value);
    case When::kListHas:
      return has_value && ListHas(value, r.value);
    case When::kTrue:
      return !has_value || KernelBool(value).value_or(false);
    case When::kFalse:
      return has_value && !KernelBool(value).value_or(true);
    case When::kNotOneOf:
      return !has_value || !ListHas(r.value, value);
  }
  return false;
}

bool IsPort(std::string_view s) {
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  auto n = ParseInt(s);
  return n && *n >= 1 && *n <= 65535;
}

bool IsIp(int family, const std::string& host) {
  unsigned char buf[16];
  return inet_pton(family, host.c_str(), buf) == 1;
}

}  // namespace

std::optional<std::string> RefuseKernelParam(std::string_view param) {
  size_t eq = param.find('=');
  bool has_value = eq != std::string_view::npos;
  // The kernel reads '-' and '_' in a parameter's name as the same.
  std::string name(param.substr(0, eq));
  for (char& c : name) {
    if (c == '-') c = '_';
  }
  std::string_view value = has_value ? param.substr(eq + 1) : std::string_view();
  for (const auto& r : kRefused) {
    if (name == r.name && Matches(r, has_value, value)) return std::string(r.reason);
  }
  return std::nullopt;
}

std::optional<std::string> RefuseListenAddress(std::string_view address) {
  auto hp = SplitHostPort(address);
  if (!hp) {
    return StartsWith(address, "[") ? "want [IPv6]:PORT, like [::1]:8080"
                                    : "want ADDR:PORT, like 127.0.0.1:8080";
  }
  const std::string& host = hp->host;
  const std::string& port = hp->port;
  if (hp->bracketed) {
    if (!IsIp(AF_INET6, host)) {
      return "'" + host + "' is not an IPv6 address (brackets are for IPv6 only)";
    }
  } else {
    if (host.find(':') != std::string::npos) {
      return "an IPv6 address goes in brackets: [" + host + "]:" + port;
    }
    if (host.empty()) return "no address: 0.0.0.0:PORT is every IPv4 address, [::]:PORT every IPv6";
    if (!IsIp(AF_INET, host)) {
      bool name = false;
      for (char c : host) name = name || std::isalpha(static_cast<unsigned char>(c));
      if (name) {
        return "'" + host +
               "' is a host name: give an IP address (the page binds at boot, before names "
               "resolve, and must bind to exactly what is written)";
      }
      return "'" + host + "' is not an IPv4 address";
    }
  }
  if (!IsPort(port)) return "port '" + port + "' is not a number from 1 to 65535";
  return std::nullopt;
}

}  // namespace gpuhost::plan
