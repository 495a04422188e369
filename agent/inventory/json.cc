#include "inventory/json.h"

#include "base/strings.h"
#include "inventory/json_reader.h"
#include "inventory/redact.h"

namespace gpuhost::inventory {
namespace {

using nlohmann::json;

std::string Id(uint16_t v) { return Hex(v, 4); }

template <typename T>
json Opt(const std::optional<T>& v) {
  return v ? json(*v) : json(nullptr);
}

json AddrList(const std::vector<PciAddress>& v) {
  json a = json::array();
  for (const auto& x : v) a.push_back(x.ToString());
  return a;
}

json Bars(const std::vector<PciFunction::Bar>& bars) {
  json a = json::array();
  for (const auto& b : bars) {
    a.push_back({{"index", b.index}, {"start", Hex(b.start, 8)}, {"end", Hex(b.end, 8)}});
  }
  return a;
}

json FunctionJson(const PciFunction& f) {
  return {
      {"address", f.address.ToString()},
      {"vendor_id", Id(f.vendor_id)},
      {"device_id", Id(f.device_id)},
      {"subsystem_vendor_id", f.subsys_vendor_id ? json(Id(*f.subsys_vendor_id)) : json()},
      {"subsystem_device_id", f.subsys_device_id ? json(Id(*f.subsys_device_id)) : json()},
      {"vendor_name", f.vendor_name},
      {"device_name", f.device_name},
      {"subsystem_name", f.subsys_name},
      {"class", Hex(f.class_id, 4)},
      {"prog_if", Hex(f.prog_if, 2)},
      {"class_name", f.class_name},
      {"revision", Hex(f.revision, 2)},
      {"driver", Opt(f.driver)},
      {"iommu_group", Opt(f.iommu_group)},
      {"numa_node", Opt(f.numa_node)},
      {"boot_vga", f.boot_vga},
      {"parent", f.parent ? json(f.parent->ToString()) : json()},
      {"reset_methods", f.reset_methods},
      {"role", RoleName(f.role)},
      {"bars", Bars(f.bars)},
  };
}

Role RoleFromName(const std::string& n) {
  for (Role r : {Role::kGpu, Role::kGpuCompanion, Role::kNvSwitch, Role::kBridge}) {
    if (n == RoleName(r)) return r;
  }
  return Role::kOther;
}

json Framebuffers(const std::vector<Framebuffer>& fbs) {
  json a = json::array();
  for (const auto& f : fbs) {
    a.push_back({{"name", f.name}, {"start", Hex(f.start, 8)}, {"end", Hex(f.end, 8)}});
  }
  return a;
}

}  // namespace

json ToJson(const RemoteLibvirt& r) {
  return {{"configured", r.configured},
          {"listening", r.listening},
          {"port", r.port},
          {"server_subject", r.server_subject},
          {"ca_subject", r.ca_subject},
          {"allowed_dn", r.allowed_dn},
          {"error", r.error}};
}

json ToJson(const Inventory& inv) {
  json functions = json::array();
  for (const auto& f : inv.functions) functions.push_back(FunctionJson(f));
  json gpus = json::array();
  for (const auto& g : inv.gpus) {
    gpus.push_back({{"address", g.address.ToString()},
                    {"kind", g.kind},
                    {"companions", AddrList(g.companions)},
                    {"boot_vga", g.boot_vga},
                    {"iommu_group", Opt(g.iommu_group)},
                    {"numa_node", Opt(g.numa_node)},
                    {"vendor_name", g.vendor_name},
                    {"model", g.model}});
  }
  json groups = json::array();
  for (const auto& g : inv.iommu_groups) {
    groups.push_back({{"id", g.id}, {"type", g.type}, {"members", AddrList(g.members)}});
  }
  json warnings = json::array();
  for (const auto& w : inv.warnings)
    warnings.push_back({{"where", w.where}, {"message", w.message}});
  json critical = json::array();
  for (const auto& c : inv.critical) {
    critical.push_back({{"address", c.address.ToString()}, {"why", c.why}});
  }
  json unknown = json::array();
  for (const auto& u : inv.host_use_unknown) {
    unknown.push_back({{"class", UseClassName(u.use_class)}, {"source", u.source}, {"why", u.why}});
  }
  json domains = json::array();
  for (const auto& d : inv.virt.domains) {
    domains.push_back({{"name", d.name},
                       {"state", d.state},
                       {"active", d.active},
                       {"hostdevs", AddrList(d.hostdevs)}});
  }
  json virt = {{"libvirt_connected", inv.virt.libvirt_connected},
               {"libvirt_uri", inv.virt.libvirt_uri},
               {"libvirt_error", inv.virt.libvirt_error},
               {"kvm_usable", inv.virt.kvm_usable},
               {"kvm_reason", inv.virt.kvm_reason},
               {"hostdev_vfio", Opt(inv.virt.hostdev_vfio)},
               {"virt_type", inv.virt.virt_type},
               {"domains", domains}};
  json numa = json::object();
  for (const auto& [node, cpus] : inv.system.numa_cpus) numa[std::to_string(node)] = cpus;
  const System& s = inv.system;
  return {
      {"schema_version", kInventorySchemaVersion},
      {"source", inv.source},
      {"system",
       {{"cpu",
         {{"vendor", s.cpu.vendor},
          {"model", s.cpu.model},
          {"logical_cpus", s.cpu.logical_cpus},
          {"virtualization", s.cpu.virtualization}}},
        {"identity",
         {{"machine_id", s.identity.machine_id},
          {"product_uuid", s.identity.product_uuid},
          {"product_serial", s.identity.product_serial}}},
        {"remote_libvirt", ToJson(s.remote_libvirt)},
        {"iommu",
         {{"enabled", s.iommu.enabled},
          {"units", s.iommu.units},
          {"firmware_table", s.iommu.firmware_table}}},
        {"memory",
         {{"total_kib", s.memory.total_kib},
          {"hugepages_total", s.memory.hugepages_total},
          {"hugepages_free", s.memory.hugepages_free},
          {"hugepage_size_kib", s.memory.hugepage_size_kib}}},
        {"kvm_device", s.kvm_device},
        {"kernel_release", s.kernel_release},
        {"cmdline", RedactCmdline(s.cmdline)},  // leaves the process: state.json, --json
        {"bootloader", s.bootloader},
        {"framebuffers", Framebuffers(s.framebuffers)},
        {"numa_cpus", numa}}},
      {"functions", functions},
      {"gpus", gpus},
      {"nvswitches", AddrList(inv.nvswitches)},
      {"iommu_groups", groups},
      {"critical", critical},
      {"host_use_unknown", unknown},
      {"virtualization", virt},
      {"warnings", warnings},
  };
}

namespace {

// The reading steps of InventoryFromJson. Each records a wrong field in the
// reader (its first error wins); one returning a Status stops the read at
// once, whatever the reader holds.

// Added later than the rest: state files of older agents lack it.
void ReadRemoteLibvirt(JsonReader& r, const json& system, RemoteLibvirt* out) {
  const json* rl = r.Field(system, "remote_libvirt");
  if (!rl) return;
  out->configured = r.Bool(*rl, "configured");
  out->listening = r.Bool(*rl, "listening");
  out->port = static_cast<int>(r.Uint(*rl, "port"));
  out->server_subject = r.Str(*rl, "server_subject");
  out->ca_subject = r.Str(*rl, "ca_subject");
  out->allowed_dn = r.StrArray(*rl, "allowed_dn");
  out->error = r.Str(*rl, "error");
}

void ReadHardware(JsonReader& r, const json& s, System* sys) {
  if (const json* c = r.Field(s, "cpu")) {
    sys->cpu.vendor = r.Str(*c, "vendor");
    sys->cpu.model = r.Str(*c, "model");
    sys->cpu.logical_cpus = static_cast<int>(r.Uint(*c, "logical_cpus"));
    sys->cpu.virtualization = r.Str(*c, "virtualization");
  }
  // Added later than the rest: state files of older agents lack it.
  if (s.contains("identity")) {
    if (const json* id = r.Field(s, "identity")) {
      sys->identity.machine_id = r.Str(*id, "machine_id");
      sys->identity.product_uuid = r.Str(*id, "product_uuid");
      sys->identity.product_serial = r.Str(*id, "product_serial");
    }
  }
  if (s.contains("remote_libvirt")) ReadRemoteLibvirt(r, s, &sys->remote_libvirt);
  if (const json* m = r.Field(s, "iommu")) {
    sys->iommu.enabled = r.Bool(*m, "enabled");
    sys->iommu.units = r.StrArray(*m, "units");
    sys->iommu.firmware_table = r.Str(*m, "firmware_table");
  }
  if (const json* m = r.Field(s, "memory")) {
    sys->memory.total_kib = r.Uint(*m, "total_kib");
    sys->memory.hugepages_total = r.Uint(*m, "hugepages_total");
    sys->memory.hugepages_free = r.Uint(*m, "hugepages_free");
    sys->memory.hugepage_size_kib = r.Uint(*m, "hugepage_size_kib");
  }
}

Status ReadSystem(JsonReader& r, const json& s, System* sys) {
  ReadHardware(r, s, sys);
  sys->kvm_device = r.Bool(s, "kvm_device");
  sys->kernel_release = r.Str(s, "kernel_release");
  sys->cmdline = r.Str(s, "cmdline");
  sys->bootloader = r.Str(s, "bootloader");
  if (const json* fbs = r.Field(s, "framebuffers"); fbs && fbs->is_array()) {
    for (const auto& f : *fbs) {
      sys->framebuffers.push_back(
          {r.Str(f, "name"), r.HexStr(f, "start", UINT64_MAX), r.HexStr(f, "end", UINT64_MAX)});
    }
  }
  // Added later than the rest: state files of older agents lack it.
  if (const json* n = s.contains("numa_cpus") ? &s.at("numa_cpus") : nullptr) {
    if (!n->is_object()) return Status::Invalid("inventory: 'numa_cpus' is not an object");
    for (const auto& [node, cpus] : n->items()) {
      auto id = ParseInt(node);
      if (!id || *id < 0 || *id > 65535 || !cpus.is_string()) {
        return Status::Invalid("inventory: numa_cpus entry '" + node + "' is not NODE: \"CPUS\"");
      }
      sys->numa_cpus[static_cast<int>(*id)] = cpus.get<std::string>();
    }
  }
  return Status::Ok();
}

PciFunction ReadFunction(JsonReader& r, const json& e) {
  PciFunction f;
  f.address = r.Addr(r.Str(e, "address"), "address");
  f.vendor_id = static_cast<uint16_t>(r.HexStr(e, "vendor_id", 0xffff));
  f.device_id = static_cast<uint16_t>(r.HexStr(e, "device_id", 0xffff));
  if (auto v = r.OptHexStr(e, "subsystem_vendor_id", 0xffff)) f.subsys_vendor_id = *v;
  if (auto v = r.OptHexStr(e, "subsystem_device_id", 0xffff)) f.subsys_device_id = *v;
  f.vendor_name = r.Str(e, "vendor_name");
  f.device_name = r.Str(e, "device_name");
  f.subsys_name = r.Str(e, "subsystem_name");
  f.class_id = static_cast<uint16_t>(r.HexStr(e, "class", 0xffff));
  f.prog_if = static_cast<uint8_t>(r.HexStr(e, "prog_if", 0xff));
  f.class_name = r.Str(e, "class_name");
  f.revision = static_cast<uint8_t>(r.HexStr(e, "revision", 0xff));
  if (const json* d = r.Field(e, "driver"); d && d->is_string()) f.driver = d->get<std::string>();
  f.iommu_group = r.OptInt(e, "iommu_group");
  f.numa_node = r.OptInt(e, "numa_node");
  f.boot_vga = r.Bool(e, "boot_vga");
  if (const json* p = r.Field(e, "parent"); p && p->is_string()) {
    f.parent = r.Addr(p->get<std::string>(), "parent");
  }
  f.reset_methods = r.StrArray(e, "reset_methods");
  f.role = RoleFromName(r.Str(e, "role"));
  if (const json* bs = r.Field(e, "bars"); bs && bs->is_array()) {
    for (const auto& b : *bs) {
      f.bars.push_back({static_cast<int>(r.Uint(b, "index")), r.HexStr(b, "start", UINT64_MAX),
                        r.HexStr(b, "end", UINT64_MAX)});
    }
  }
  return f;
}

Gpu ReadGpu(JsonReader& r, const json& e) {
  Gpu g;
  g.address = r.Addr(r.Str(e, "address"), "address");
  g.kind = r.Str(e, "kind");
  g.companions = r.AddrArray(e, "companions");
  g.boot_vga = r.Bool(e, "boot_vga");
  g.iommu_group = r.OptInt(e, "iommu_group");
  g.numa_node = r.OptInt(e, "numa_node");
  g.vendor_name = r.Str(e, "vendor_name");
  g.model = r.Str(e, "model");
  return g;
}

// The PCI side: functions, GPUs, NVSwitches, IOMMU groups, critical devices.
void ReadDevices(JsonReader& r, const json& j, Inventory* inv) {
  if (const json* fs = r.Field(j, "functions"); fs && fs->is_array()) {
    for (const auto& e : *fs) inv->functions.push_back(ReadFunction(r, e));
  }
  if (const json* gs = r.Field(j, "gpus"); gs && gs->is_array()) {
    for (const auto& e : *gs) inv->gpus.push_back(ReadGpu(r, e));
  }
  inv->nvswitches = r.AddrArray(j, "nvswitches");
  if (const json* gs = r.Field(j, "iommu_groups"); gs && gs->is_array()) {
    for (const auto& e : *gs) {
      IommuGroup g;
      g.id = r.OptInt(e, "id").value_or(-1);
      g.type = r.Str(e, "type");
      g.members = r.AddrArray(e, "members");
      inv->iommu_groups.push_back(std::move(g));
    }
  }
  if (const json* cs = r.Field(j, "critical"); cs && cs->is_array()) {
    for (const auto& e : *cs)
      inv->critical.push_back({r.Addr(r.Str(e, "address"), "address"), r.Str(e, "why")});
  }
}

Status ReadHostUseUnknown(JsonReader& r, const json& j, std::vector<UnknownUse>* out) {
  // Added later than the rest: files of older agents lack it.
  if (!j.contains("host_use_unknown")) return Status::Ok();
  if (const json* us = r.Field(j, "host_use_unknown"); us && us->is_array()) {
    for (const auto& e : *us) {
      std::string cls = r.Str(e, "class");
      if (cls != "storage" && cls != "network" && r.status().ok()) {
        return Status::Invalid("inventory: host_use_unknown class '" + cls + "'");
      }
      out->push_back({cls == "storage" ? UseClass::kStorage : UseClass::kNetwork,
                      r.Str(e, "source"), r.Str(e, "why")});
    }
  }
  return Status::Ok();
}

void ReadVirtualization(JsonReader& r, const json& v, Virtualization* virt) {
  virt->libvirt_connected = r.Bool(v, "libvirt_connected");
  virt->libvirt_uri = r.Str(v, "libvirt_uri");
  virt->libvirt_error = r.Str(v, "libvirt_error");
  virt->kvm_usable = r.Bool(v, "kvm_usable");
  virt->kvm_reason = r.Str(v, "kvm_reason");
  if (const json* h = r.Field(v, "hostdev_vfio"); h && h->is_boolean()) {
    virt->hostdev_vfio = h->get<bool>();
  }
  // Added later than the rest: state files of older agents lack it.
  if (v.contains("virt_type")) virt->virt_type = r.Str(v, "virt_type");
  if (const json* ds = r.Field(v, "domains"); ds && ds->is_array()) {
    for (const auto& e : *ds) {
      virt->domains.push_back(
          {r.Str(e, "name"), r.Str(e, "state"), r.Bool(e, "active"), r.AddrArray(e, "hostdevs")});
    }
  }
}

// Everything that shows a GPU looks its function up: a GPU listed without
// one is a corrupt file, not a GPU to show half of.
Status CheckGpusHaveFunctions(const Inventory& inv) {
  for (size_t i = 0; i < inv.gpus.size(); ++i) {
    const Gpu& g = inv.gpus[i];
    std::string where = "inventory: gpus[" + std::to_string(i) + "] " + g.address.ToString();
    if (inv.Find(g.address) == nullptr) {
      return Status::Invalid(where + " is not among the functions");
    }
    for (const auto& c : g.companions) {
      if (inv.Find(c) == nullptr) {
        return Status::Invalid(where + ": companion " + c.ToString() +
                               " is not among the functions");
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Inventory> InventoryFromJson(const json& j) {
  JsonReader r("inventory");
  Inventory inv;
  if (r.Uint(j, "schema_version") != static_cast<uint64_t>(kInventorySchemaVersion) &&
      r.status().ok()) {
    return Status::Invalid("inventory: unsupported schema_version");
  }
  inv.source = r.Str(j, "source");
  if (const json* s = r.Field(j, "system")) {
    if (Status st = ReadSystem(r, *s, &inv.system); !st.ok()) return st;
  }
  ReadDevices(r, j, &inv);
  if (Status st = ReadHostUseUnknown(r, j, &inv.host_use_unknown); !st.ok()) return st;
  if (const json* v = r.Field(j, "virtualization")) ReadVirtualization(r, *v, &inv.virt);
  if (const json* ws = r.Field(j, "warnings"); ws && ws->is_array()) {
    for (const auto& e : *ws) inv.warnings.push_back({r.Str(e, "where"), r.Str(e, "message")});
  }
  if (!r.status().ok()) return r.status();
  if (Status st = CheckGpusHaveFunctions(inv); !st.ok()) return st;
  return inv;
}

}  // namespace gpuhost::inventory
