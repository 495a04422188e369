#include "libvirt/virt.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <regex>

#include "base/strings.h"
#include "host/unit_state.h"

namespace gpuhost::virt {
namespace {

// libvirt is loaded at run time (libvirt.so.0): linking it would put its
// dependencies' start-up cost and memory into every agent process, the
// small status server included. Prototypes come from libvirt's own header.
struct Api {
  bool loaded = false;
  std::string error;
#define GPUHOST_LIBVIRT_FN(name) decltype(&::name) name = nullptr;
  GPUHOST_LIBVIRT_FN(virSetErrorFunc)
  GPUHOST_LIBVIRT_FN(virGetLastErrorMessage)
  GPUHOST_LIBVIRT_FN(virConnectOpen)
  GPUHOST_LIBVIRT_FN(virConnectOpenReadOnly)
  GPUHOST_LIBVIRT_FN(virConnectClose)
  GPUHOST_LIBVIRT_FN(virConnectGetDomainCapabilities)
  GPUHOST_LIBVIRT_FN(virConnectListAllDomains)
  GPUHOST_LIBVIRT_FN(virDomainGetName)
  GPUHOST_LIBVIRT_FN(virDomainGetState)
  GPUHOST_LIBVIRT_FN(virDomainIsActive)
  GPUHOST_LIBVIRT_FN(virDomainGetXMLDesc)
  GPUHOST_LIBVIRT_FN(virDomainFree)
  GPUHOST_LIBVIRT_FN(virNodeDeviceLookupByName)
  GPUHOST_LIBVIRT_FN(virNodeDeviceDetachFlags)
  GPUHOST_LIBVIRT_FN(virNodeDeviceFree)
#undef GPUHOST_LIBVIRT_FN
};

const Api& Lib() {
  static Api api;
  static std::once_flag once;
  std::call_once(once, [] {
    void* h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      const char* e = dlerror();
      api.error = std::string("libvirt not installed (") + (e ? e : "libvirt.so.0") + ")";
      return;
    }
    bool ok = true;
#define GPUHOST_LIBVIRT_BIND(name)                                  \
  api.name = reinterpret_cast<decltype(api.name)>(dlsym(h, #name)); \
  ok = ok && api.name != nullptr;
    GPUHOST_LIBVIRT_BIND(virSetErrorFunc)
    GPUHOST_LIBVIRT_BIND(virGetLastErrorMessage)
    GPUHOST_LIBVIRT_BIND(virConnectOpen)
    GPUHOST_LIBVIRT_BIND(virConnectOpenReadOnly)
    GPUHOST_LIBVIRT_BIND(virConnectClose)
    GPUHOST_LIBVIRT_BIND(virConnectGetDomainCapabilities)
    GPUHOST_LIBVIRT_BIND(virConnectListAllDomains)
    GPUHOST_LIBVIRT_BIND(virDomainGetName)
    GPUHOST_LIBVIRT_BIND(virDomainGetState)
    GPUHOST_LIBVIRT_BIND(virDomainIsActive)
    GPUHOST_LIBVIRT_BIND(virDomainGetXMLDesc)
    GPUHOST_LIBVIRT_BIND(virDomainFree)
    GPUHOST_LIBVIRT_BIND(virNodeDeviceLookupByName)
    GPUHOST_LIBVIRT_BIND(virNodeDeviceDetachFlags)
    GPUHOST_LIBVIRT_BIND(virNodeDeviceFree)
#undef GPUHOST_LIBVIRT_BIND
    if (!ok) {
      api.error = "libvirt.so.0 lacks an entry point the agent needs";
      return;
    }
    api.loaded = true;
  });
  return api;
}

// libvirt prints every error to stderr unless told otherwise; we report
// them ourselves, once, where they matter.
void Quiet(void*, virErrorPtr) {}

std::string LastError() {
  const char* m = Lib().virGetLastErrorMessage();
  return m ? m : "unknown libvirt error";
}

std::string Attr(const std::string& tag, const std::string& name) {
  std::regex re(name + "=['\"]([^'\"]*)['\"]");
  std::smatch m;
  return std::regex_search(tag, m, re) ? m[1].str() : "";
}

const char* StateName(int s) {
  switch (s) {
    case VIR_DOMAIN_RUNNING:
      return "running";
    case VIR_DOMAIN_BLOCKED:
      return "blocked";
    case VIR_DOMAIN_PAUSED:
      return "paused";
    case VIR_DOMAIN_SHUTDOWN:
      return "shutting down";
    case VIR_DOMAIN_SHUTOFF:
      return "shut off";
    case VIR_DOMAIN_CRASHED:
      return "crashed";
    case VIR_DOMAIN_PMSUSPENDED:
      return "suspended";
    default:
      return "unknown";
  }
}

}  // namespace

std::vector<PciAddress> HostdevAddresses(const std::string& xml) {
  std::vector<PciAddress> out;
  static const std::regex block(R"(<hostdev\b([^>]*)>([\s\S]*?)</hostdev>)");
  static const std::regex source(R"(<source\b[^>]*>([\s\S]*?)</source>)");
  static const std::regex address(R"(<address\b[^>]*/>)");
  for (auto it = std::sregex_iterator(xml.begin(), xml.end(), block); it != std::sregex_iterator();
       ++it) {
    if (Attr((*it)[1].str(), "type") != "pci") continue;
    std::string body = (*it)[2].str();
    std::smatch src;
    if (!std::regex_search(body, src, source)) continue;
    std::string inner = src[1].str();
    std::smatch addr;
    if (!std::regex_search(inner, addr, address)) continue;
    std::string tag = addr[0].str();
    auto dom = ParseHex(Attr(tag, "domain"));
    auto bus = ParseHex(Attr(tag, "bus"));
    auto slot = ParseHex(Attr(tag, "slot"));
    auto fn = ParseHex(Attr(tag, "function"));
    if (!dom || !bus || !slot || !fn || *slot > 31 || *fn > 7 || *bus > 255) continue;
    out.push_back({static_cast<uint32_t>(*dom), static_cast<uint8_t>(*bus),
                   static_cast<uint8_t>(*slot), static_cast<uint8_t>(*fn)});
  }
  return out;
}

std::optional<bool> DomcapsHostdevVfio(const std::string& xml) {
  static const std::regex hostdev(R"(<hostdev\b([^>]*)>([\s\S]*?)</hostdev>)");
  std::smatch m;
  if (!std::regex_search(xml, m, hostdev)) {
    if (xml.find("<hostdev supported='no'/>") != std::string::npos) return false;
    return std::nullopt;
  }
  if (Attr(m[1].str(), "supported") != "yes") return false;
  static const std::regex backend(R"(<enum name='pciBackend'>([\s\S]*?)</enum>)");
  std::smatch b;
  std::string body = m[2].str();
  if (!std::regex_search(body, b, backend)) return false;
  return b[1].str().find("<value>vfio</value>") != std::string::npos;
}

std::string NodeDeviceName(const PciAddress& a) {
  return "pci_" + Hex(a.domain, 4) + "_" + Hex(a.bus, 2) + "_" + Hex(a.device, 2) + "_" +
         Hex(a.function, 1);
}

std::string DomcapsVirtType(const std::string& xml) {
  static const std::regex domain(R"(<domain>\s*([a-z]+)\s*</domain>)");
  std::smatch m;
  return std::regex_search(xml, m, domain) ? m[1].str() : "";
}

std::optional<int> CountCpus(const std::string& cpulist) {
  // Linux's NR_CPUS is at most 8192; a list beyond this is not the kernel's.
  constexpr int64_t kMaxCpus = 65536;
  int64_t n = 0;
  for (const auto& part : Split(std::string(Trim(cpulist)), ',')) {
    auto dash = part.find('-');
    auto lo = ParseInt(part.substr(0, dash));
    auto hi = dash == std::string::npos ? lo : ParseInt(part.substr(dash + 1));
    if (!lo || !hi || *lo < 0 || *hi < *lo || *hi >= kMaxCpus) return std::nullopt;
    n += *hi - *lo + 1;
    if (n > kMaxCpus) return std::nullopt;
  }
  if (n == 0) return std::nullopt;
  return static_cast<int>(n);
}

HostdevSnippet MakeHostdevSnippet(const std::vector<PciAddress>& functions,
                                  std::optional<int> numa_node, const std::string& node_cpus) {
  HostdevSnippet out;
  for (size_t i = 0; i < functions.size(); ++i) {
    const auto& a = functions[i];
    // All functions in one guest slot, as on the card: guests' drivers
    // expect the audio and USB functions beside the GPU. managed='yes':
    // libvirt detaches to vfio-pci at start and gives the device back after.
    out.devices_xml +=
        "<hostdev mode='subsystem' type='pci' managed='yes'>\n"
        "  <driver name='vfio'/>\n"
        "  <source>\n"
        "    <address domain='0x" +
        Hex(a.domain, 4) + "' bus='0x" + Hex(a.bus, 2) + "' slot='0x" + Hex(a.device, 2) +
        "' function='0x" + Hex(a.function, 1) +
        "'/>\n"
        "  </source>\n"
        "  <address type='pci' domain='0x0000' bus='0x06' slot='0x00' function='0x" +
        Hex(i, 1) + "'" + (i == 0 && functions.size() > 1 ? " multifunction='on'" : "") +
        "/>\n"
        "</hostdev>\n";
  }
  if (!numa_node) {
    out.advice =
        "The GPU reports no NUMA node (one-node machine, or firmware without proximity "
        "information): no pinning needed.";
    return out;
  }
  std::string node = std::to_string(*numa_node);
  auto cpus = CountCpus(node_cpus);
  out.advice = "The GPU sits on NUMA node " + node + ": keep the VM's memory" +
               (cpus ? " and vCPUs (CPUs " + node_cpus + ")" : "") +
               " on that node; DMA and interrupts then stay off the inter-socket link.";
  if (cpus) {
    // A starting count the node can hold; the cpuset is what matters.
    out.numa_xml += "<vcpu placement='static' cpuset='" + node_cpus + "'>" +
                    std::to_string(std::min(*cpus, 8)) + "</vcpu>\n";
  }
  out.numa_xml += "<numatune>\n  <memory mode='strict' nodeset='" + node + "'/>\n</numatune>\n";
  return out;
}

void JudgeKvm(inventory::Inventory* inv) {
  auto& v = inv->virt;
  const auto& sys = inv->system;
  if (sys.cpu.virtualization.empty()) {
    v.kvm_usable = false;
    v.kvm_reason =
        "the CPU shows no VT-x/AMD-V flag (off in the firmware, or a VM without nesting)";
  } else if (!sys.kvm_device) {
    v.kvm_usable = false;
    v.kvm_reason = "/dev/kvm is missing (module kvm_intel/kvm_amd not loaded)";
  } else {
    v.kvm_usable = true;
    v.kvm_reason.clear();
  }
}

Connection::~Connection() {
  if (conn_ != nullptr) Lib().virConnectClose(static_cast<virConnectPtr>(conn_));
}

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& uri, bool read_only) {
  const Api& api = Lib();
  if (!api.loaded) return Status::Unsupported(api.error);
  api.virSetErrorFunc(nullptr, Quiet);
  virConnectPtr c =
      read_only ? api.virConnectOpenReadOnly(uri.c_str()) : api.virConnectOpen(uri.c_str());
  if (c == nullptr) return Status::Unsupported("libvirt at " + uri + ": " + LastError());
  return std::unique_ptr<Connection>(new Connection(c, uri));
}

void Connection::Describe(inventory::Inventory* inv) {
  auto conn = static_cast<virConnectPtr>(conn_);
  auto& v = inv->virt;
  v.libvirt_connected = true;
  v.libvirt_uri = uri_;
  if (char* caps =
          Lib().virConnectGetDomainCapabilities(conn, nullptr, nullptr, nullptr, nullptr, 0)) {
    v.hostdev_vfio = DomcapsHostdevVfio(caps);
    v.virt_type = DomcapsVirtType(caps);
    std::free(caps);
  }
  virDomainPtr* doms = nullptr;
  int n = Lib().virConnectListAllDomains(conn, &doms, 0);
  for (int i = 0; i < n; ++i) {
    inventory::VirtDomain d;
    d.name = Lib().virDomainGetName(doms[i]);
    int state = 0, reason = 0;
    if (Lib().virDomainGetState(doms[i], &state, &reason, 0) == 0) d.state = StateName(state);
    d.active = Lib().virDomainIsActive(doms[i]) == 1;
    if (char* xml = Lib().virDomainGetXMLDesc(doms[i], 0)) {
      d.hostdevs = HostdevAddresses(xml);
      std::free(xml);
    }
    v.domains.push_back(std::move(d));
    Lib().virDomainFree(doms[i]);
  }
  std::free(doms);
  if (n < 0) v.libvirt_error = "listing domains: " + LastError();
}

Status Connection::DetachToVfio(const PciAddress& a) {
  auto conn = static_cast<virConnectPtr>(conn_);
  virNodeDevicePtr dev = Lib().virNodeDeviceLookupByName(conn, NodeDeviceName(a).c_str());
  if (dev == nullptr) return Status::NotFound("libvirt has no node device " + NodeDeviceName(a));
  int r = Lib().virNodeDeviceDetachFlags(dev, "vfio", 0);
  std::string err = r < 0 ? LastError() : "";
  Lib().virNodeDeviceFree(dev);
  if (r < 0) return Status::Io("libvirt detach " + NodeDeviceName(a) + ": " + err);
  return Status::Ok();
}

bool PidFileLocked(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  fl.l_start = 0;
  fl.l_len = 1;
  bool locked = fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
  close(fd);
  return locked;
}

bool DaemonRunning() {
  return UnitActive("libvirtd.service") || UnitActive("virtqemud.service") ||
         PidFileLocked("/run/libvirtd.pid") || PidFileLocked("/run/virtqemud.pid");
}

std::unique_ptr<Connection> Connect(inventory::Inventory* inv, const ConnectOptions& options) {
  JudgeKvm(inv);
  inv->virt.libvirt_uri = options.uri;
  if (!options.daemon_running) {
    inv->virt.libvirt_error =
        "libvirtd (or virtqemud) is not running: not asked; binds go through sysfs";
    return nullptr;
  }
  auto c = Connection::Open(options.uri, options.read_only);
  if (!c.ok()) {
    inv->virt.libvirt_error = c.status().message();
    return nullptr;
  }
  (*c)->Describe(inv);
  return std::move(*c);
}

}  // namespace gpuhost::virt
