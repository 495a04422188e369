#include "apply/restore.h"

#include <nlohmann/json.hpp>

#include "apply/holders.h"
#include "base/strings.h"

namespace gpuhost::apply {
namespace {

using nlohmann::json;

json Load(const Fs& fs, const std::string& path) {
  auto text = fs.Read(path);
  if (!text.ok()) return json::object();
  json j = json::parse(*text, nullptr, false);
  return j.is_object() ? j : json::object();
}

void RestoreOne(Fs& fs, const inventory::Inventory& inv, const inventory::PciAddress& addr,
                const std::string& original, report::ActionResult* r) {
  const std::string a = addr.ToString();
  const std::string dev = "/sys/bus/pci/devices/" + a;
  std::string now = CurrentDriver(fs, addr);
  auto ov = fs.Read(dev + "/driver_override");
  std::string override_now = ov.ok() ? std::string(Trim(*ov)) : "";
  bool pinned = override_now == "vfio-pci";
  if (now != "vfio-pci" && !pinned) {
    r->outcome = "unchanged";
    r->message = "not on vfio-pci (driver: " + (now.empty() ? std::string("none") : now) + ")";
    return;
  }
  inventory::PciFunction f;
  if (const auto* known = inv.Find(addr)) f = *known;
  f.address = addr;
  f.driver = now;
  auto holders = FindHolders(fs, f);
  if (!holders.empty()) {
    r->outcome = "held";
    r->message = "left on vfio-pci: " + Describe(holders[0]);
    return;
  }
  // An empty line clears driver_override.
  if (Status s = fs.WriteAttribute(dev + "/driver_override", "\n", false); !s.ok()) {
    r->outcome = "failed";
    r->message = "driver_override: " + s.ToString();
    return;
  }
  if (now == "vfio-pci") {
    if (Status s = fs.WriteAttribute(dev + "/driver/unbind", a, false); !s.ok()) {
      r->outcome = "failed";
      r->message = "unbind from vfio-pci: " + s.ToString();
      return;
    }
  }
  Status s = original.empty()
                 ? fs.WriteAttribute("/sys/bus/pci/drivers_probe", a, false)
                 : fs.WriteAttribute("/sys/bus/pci/drivers/" + original + "/bind", a, false);
  std::string after = CurrentDriver(fs, addr);
  if (!original.empty() && after != original) {
    r->outcome = "failed";
    r->message = "read back: driver is '" + (after.empty() ? std::string("none") : after) +
                 "', not " + original + (s.ok() ? "" : " (" + s.ToString() + ")");
    return;
  }
  r->outcome = "done";
  r->message = original.empty() ? "released from vfio-pci" : "back on " + original;
}

}  // namespace

Status RecordOriginalDriver(Fs& fs, const std::string& state_dir, const inventory::PciAddress& addr,
                            const std::string& driver) {
  std::string path = state_dir + "/" + kOriginalDrivers;
  json j = Load(fs, path);
  if (j.contains(addr.ToString())) return Status::Ok();
  j[addr.ToString()] = driver;
  return fs.WriteAtomic(path, j.dump(2) + "\n", 0644);
}

std::vector<report::ActionResult> Restore(Fs& fs, const inventory::Inventory& inv,
                                          const std::string& state_dir) {
  std::string path = state_dir + "/" + kOriginalDrivers;
  json j = Load(fs, path);
  std::vector<report::ActionResult> results;
  json keep = json::object();
  for (const auto& [addr_text, driver] : j.items()) {
    report::ActionResult r;
    r.action.kind = plan::ActionKind::kBindVfio;
    r.action.target = addr_text;
    r.action.value = driver.is_string() ? driver.get<std::string>() : "";
    r.action.reason = "restore the driver it had before gpuhost";
    auto addr = inventory::PciAddress::Parse(addr_text);
    if (!addr) {
      r.outcome = "failed";
      r.message = path + ": '" + addr_text + "' is not a PCI address";
    } else if (!fs.Exists("/sys/bus/pci/devices/" + addr_text)) {
      r.outcome = "failed";
      r.message = "device is gone";
    } else {
      RestoreOne(fs, inv, *addr, r.action.value, &r);
    }
    if (r.outcome != "done" && r.outcome != "unchanged") keep[addr_text] = driver;
    results.push_back(std::move(r));
  }
  if (keep != j) {
    Status s = fs.WriteAtomic(path, keep.dump(2) + "\n", 0644);
    if (!s.ok()) results.push_back({{}, "failed", s.ToString(), 0});
  }
  return results;
}

}  // namespace gpuhost::apply
