#include "inventory/model.h"

#include <cctype>

#include "base/strings.h"

namespace gpuhost::inventory {

std::string PciAddress::ToString() const {
  return Hex(domain, 4) + ":" + Hex(bus, 2) + ":" + Hex(device, 2) + "." + Hex(function, 1);
}

std::optional<PciAddress> PciAddress::Parse(const std::string& text) {
  auto parts = Split(text, ':');
  if (parts.size() == 2) parts.insert(parts.begin(), "0000");
  if (parts.size() != 3) return std::nullopt;
  auto df = Split(parts[2], '.');
  if (df.size() != 2 || parts[1].size() != 2 || df[0].size() != 2 || df[1].size() != 1 ||
      parts[0].size() < 4 || parts[0].size() > 8) {
    return std::nullopt;
  }
  auto dom = ParseHex(parts[0]);
  auto bus = ParseHex(parts[1]);
  auto dev = ParseHex(df[0]);
  auto fn = ParseHex(df[1]);
  if (!dom || !bus || !dev || !fn || *dom > 0xffffffffu || *dev > 31 || *fn > 7) {
    return std::nullopt;
  }
  // Reject "0x" prefixes and signs that ParseHex tolerates.
  for (const auto& p : {parts[0], parts[1], df[0], df[1]}) {
    for (char c : p) {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    }
  }
  return PciAddress{static_cast<uint32_t>(*dom), static_cast<uint8_t>(*bus),
                    static_cast<uint8_t>(*dev), static_cast<uint8_t>(*fn)};
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kGpu:
      return "gpu";
    case Role::kGpuCompanion:
      return "gpu-companion";
    case Role::kNvSwitch:
      return "nvswitch";
    case Role::kBridge:
      return "bridge";
    case Role::kOther:
      break;
  }
  return "other";
}

const PciFunction* Inventory::Find(const PciAddress& a) const {
  for (const auto& f : functions) {
    if (f.address == a) return &f;
  }
  return nullptr;
}

std::string Inventory::CriticalWhy(const PciAddress& a) const {
  std::string why;
  for (const auto& c : critical) {
    if (c.address == a) why += (why.empty() ? "" : "; ") + c.why;
  }
  return why;
}

const char* UseClassName(UseClass c) { return c == UseClass::kStorage ? "storage" : "network"; }

std::string Inventory::UnknownUseWhy(uint16_t class_id) const {
  const int base = class_id >> 8;
  std::string why;
  for (const auto& u : host_use_unknown) {
    if ((u.use_class == UseClass::kStorage && base == 0x01) ||
        (u.use_class == UseClass::kNetwork && base == 0x02)) {
      why += (why.empty() ? "" : "; ") + u.source + ": " + u.why;
    }
  }
  return why;
}

std::string Virtualization::OwnerOf(const PciAddress& a) const {
  std::string inactive;
  for (const auto& d : domains) {
    for (const auto& h : d.hostdevs) {
      if (h != a) continue;
      if (d.active) return d.name;
      if (inactive.empty()) inactive = d.name;
    }
  }
  return inactive;
}

bool Virtualization::UsedByActiveVm(const PciAddress& a) const {
  for (const auto& d : domains) {
    if (!d.active) continue;
    for (const auto& h : d.hostdevs) {
      if (h == a) return true;
    }
  }
  return false;
}

const IommuGroup* Inventory::Group(int id) const {
  for (const auto& g : iommu_groups) {
    if (g.id == id) return &g;
  }
  return nullptr;
}

}  // namespace gpuhost::inventory
