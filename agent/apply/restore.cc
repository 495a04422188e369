#include "apply/restore.h"

#include <nlohmann/json.hpp>

#include "apply/holders.h"
#include "base/strings.h"

namespace gpuhost::apply {

using result::Outcome;
namespace {

using nlohmann::json;

std::string RecordPath(const std::string& state_dir) { return state_dir + "/" + kOriginalDrivers; }

// The record to change, checked as ReadOriginalDrivers checks it: a record
// that cannot be read or is not valid is an error naming it, so that what
// it held is never replaced by an empty record plus one entry.
Result<json> Load(const Fs& fs, const std::string& state_dir) {
  auto record = ReadOriginalDrivers(fs, state_dir);
  if (!record.ok()) return record.status();
  json j = json::object();
  for (const auto& [addr, driver] : *record) j[addr] = driver;
  return j;
}

Status Forget(Fs& fs, const std::string& state_dir, const std::string& addr) {
  auto j = Load(fs, state_dir);
  if (!j.ok()) return j.status();
  if (!j->contains(addr)) return Status::Ok();
  j->erase(addr);
  return fs.WriteAtomic(RecordPath(state_dir), j->dump(2) + "\n", 0644);
}

std::string OrNone(const std::string& driver) { return driver.empty() ? "none" : driver; }

}  // namespace

bool IsDriverName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status RecordOriginalDriver(Fs& fs, const std::string& state_dir, const inventory::PciAddress& addr,
                            const std::string& driver) {
  auto j = Load(fs, state_dir);
  if (!j.ok()) return j.status();
  if (j->contains(addr.ToString())) return Status::Ok();
  (*j)[addr.ToString()] = driver;
  return fs.WriteAtomic(RecordPath(state_dir), j->dump(2) + "\n", 0644);
}

Result<std::map<std::string, std::string>> ReadOriginalDrivers(const Fs& fs,
                                                               const std::string& state_dir) {
  const std::string path = RecordPath(state_dir);
  std::map<std::string, std::string> out;
  auto text = fs.Read(path);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return out;
    return text.status();
  }
  json j = json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Invalid(path + ": not valid JSON");
  if (!j.is_object()) return Status::Invalid(path + ": not a JSON object");
  for (const auto& [addr, driver] : j.items()) {
    if (!inventory::PciAddress::Parse(addr)) {
      return Status::Invalid(path + ": '" + addr + "' is not a PCI address");
    }
    if (!driver.is_string() ||
        (!driver.get<std::string>().empty() && !IsDriverName(driver.get<std::string>()))) {
      return Status::Invalid(path + ": the driver recorded for " + addr + " (" + driver.dump() +
                             ") is not a kernel driver name ([A-Za-z0-9_-]+)");
    }
    out[addr] = driver.get<std::string>();
  }
  return out;
}

void ReturnToHost(Fs& fs, const inventory::Inventory& inv, const std::string& state_dir,
                  const inventory::PciAddress& addr, result::ActionResult* r) {
  const std::string a = addr.ToString();
  const std::string dev = "/sys/bus/pci/devices/" + a;
  if (!fs.Exists(dev)) {
    r->outcome = Outcome::kFailed;
    r->message = "device is gone";
    return;
  }
  auto record = ReadOriginalDrivers(fs, state_dir);
  if (!record.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = record.status().ToString() + "; the device is left as it is";
    return;
  }
  auto entry = record->find(a);
  const bool recorded = entry != record->end();
  const std::string original = recorded ? entry->second : "";
  const std::string now = CurrentDriver(fs, addr);
  auto ov = fs.Read(dev + "/driver_override");
  const bool pinned = ov.ok() && Trim(*ov) == "vfio-pci";
  // No driver but still in the record: a run killed between unbind and probe.
  const bool interrupted = now.empty() && recorded;
  if (now != "vfio-pci" && !pinned && !interrupted) {
    r->outcome = Outcome::kUnchanged;
    r->message = "not on vfio-pci (driver: " + OrNone(now) + ")";
    // Nothing to give back; an entry that cannot be dropped only stays.
    if (Status s = recorded ? Forget(fs, state_dir, a) : Status::Ok(); !s.ok()) {
      r->message += "; the record keeps it: " + s.ToString();
    }
    return;
  }
  // The same gate as binds: a running VM's device is never touched.
  if (inv.virt.UsedByActiveVm(addr)) {
    r->outcome = Outcome::kHeld;
    r->message = "in use by running VM " + inv.virt.OwnerOf(addr) + "; left on vfio-pci";
    return;
  }
  if (now == "vfio-pci") {
    inventory::PciFunction f;
    if (const auto* known = inv.Find(addr)) f = *known;
    f.address = addr;
    f.driver = now;
    if (auto holders = FindHolders(fs, f); !holders.empty()) {
      r->outcome = Outcome::kHeld;
      r->message = "left on vfio-pci: " + Describe(holders[0]);
      return;
    }
  }
  // Written before the first change: the next run knows to finish it.
  if (!recorded) {
    if (Status s = RecordOriginalDriver(fs, state_dir, addr, ""); !s.ok()) {
      r->outcome = Outcome::kFailed;
      r->message = "cannot record the release: " + s.ToString();
      return;
    }
  }
  // An empty line clears driver_override (the kernel then reads "(null)").
  if (pinned) {
    if (Status s = fs.WriteAttribute(dev + "/driver_override", "\n", false); !s.ok()) {
      r->outcome = Outcome::kFailed;
      r->message = "driver_override: " + s.ToString();
      return;
    }
  }
  if (now == "vfio-pci") {
    if (Status s = fs.WriteAttribute(dev + "/driver/unbind", a, false); !s.ok()) {
      r->outcome = Outcome::kFailed;
      r->message = "unbind from vfio-pci: " + s.ToString();
      return;
    }
  }
  // The kernel picks the driver by its ID tables; the recorded one is the
  // fallback when none took the function (drivers_probe says yes anyway).
  Status probe = fs.WriteAttribute("/sys/bus/pci/drivers_probe", a, false);
  std::string after = CurrentDriver(fs, addr);
  const bool original_loaded = !original.empty() && fs.Exists("/sys/bus/pci/drivers/" + original);
  if (after.empty() && original_loaded) {
    (void)fs.WriteAttribute("/sys/bus/pci/drivers/" + original + "/bind", a, false);
    after = CurrentDriver(fs, addr);
  }
  if (after == "vfio-pci" || (original_loaded && after != original)) {
    r->outcome = Outcome::kFailed;
    r->message = "read back: driver is '" + OrNone(after) + "', not " +
                 (original.empty() ? std::string("a host driver") : original) +
                 (probe.ok() ? "" : " (" + probe.ToString() + ")");
    return;
  }
  if (Status s = Forget(fs, state_dir, a); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = "back on " + OrNone(after) + ", but the record keeps it: " + s.ToString();
    return;
  }
  r->outcome = Outcome::kDone;
  if (!after.empty()) {
    r->message = "back on " + after;
  } else if (!original.empty()) {
    r->message = "released from vfio-pci; " + original +
                 " is not loaded and takes the function when it loads";
  } else {
    r->message = "released from vfio-pci";
  }
}

std::vector<result::ActionResult> Restore(Fs& fs, const inventory::Inventory& inv,
                                          const std::string& state_dir) {
  std::vector<result::ActionResult> results;
  auto record = ReadOriginalDrivers(fs, state_dir);
  if (!record.ok()) {
    result::ActionResult r;
    r.action.payload = plan::act::Restore{std::nullopt, "", RecordPath(state_dir)};
    r.outcome = Outcome::kFailed;
    r.message = record.status().ToString() + "; no device touched, the record is left as it is";
    results.push_back(std::move(r));
    return results;
  }
  for (const auto& [addr_text, driver] : *record) {
    result::ActionResult r;
    // ReadOriginalDrivers accepts PCI addresses only.
    const inventory::PciAddress addr = *inventory::PciAddress::Parse(addr_text);
    r.action.payload = plan::act::Restore{addr, driver, RecordPath(state_dir)};
    r.action.reason = "restore the driver it had before gpuhost";
    ReturnToHost(fs, inv, state_dir, addr, &r);
    results.push_back(std::move(r));
  }
  return results;
}

}  // namespace gpuhost::apply
