#include "apply/apply.h"
#include "apply/holders.h"
#include "base/strings.h"

namespace gpuhost::apply {

using result::Outcome;
// The per-address sequence from the kernel's documentation: driver_override,
// unbind from the old driver, drivers_probe, then read the driver link back
// (drivers_probe reports success even when no driver took the device).
void BindVfio(Fs& fs, const inventory::PciAddress& addr, result::ActionResult* r) {
  const std::string a = addr.ToString();
  const std::string dev = "/sys/bus/pci/devices/" + a;
  if (!fs.Exists(dev)) {
    r->outcome = Outcome::kFailed;
    r->message = "device " + a + " is gone from " + "/sys/bus/pci/devices";
    return;
  }
  std::string before = CurrentDriver(fs, addr);
  auto override_now = fs.Read(dev + "/driver_override");
  bool override_set = override_now.ok() && Trim(*override_now) == "vfio-pci";
  if (before == "vfio-pci" && override_set) {
    r->outcome = Outcome::kUnchanged;
    r->message = "already on vfio-pci";
    return;
  }
  if (!fs.Exists("/sys/bus/pci/drivers/vfio-pci")) {
    r->outcome = Outcome::kFailed;
    r->message = "the vfio-pci driver is not registered (module vfio_pci not loaded)";
    return;
  }
  if (Status s = fs.WriteAttribute(dev + "/driver_override", "vfio-pci", true); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = "driver_override: " + s.ToString();
    return;
  }
  if (before == "vfio-pci") {
    r->outcome = Outcome::kDone;
    r->message = "was on vfio-pci; driver_override now pins it there";
    return;
  }
  if (!before.empty()) {
    if (Status s = fs.WriteAttribute(dev + "/driver/unbind", a, false); !s.ok()) {
      r->outcome = Outcome::kFailed;
      r->message = "unbind from " + before + ": " + s.ToString();
      return;
    }
  }
  if (Status s = fs.WriteAttribute("/sys/bus/pci/drivers_probe", a, false); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = "drivers_probe: " + s.ToString();
    return;
  }
  std::string after = CurrentDriver(fs, addr);
  if (after != "vfio-pci") {
    r->outcome = Outcome::kFailed;
    r->message = "read back: driver is '" + (after.empty() ? std::string("none") : after) +
                 "', not vfio-pci";
    return;
  }
  r->outcome = Outcome::kDone;
  r->message = before.empty() ? "bound to vfio-pci" : "moved from " + before + " to vfio-pci";
}

void BindVfioViaLibvirt(Fs& fs, const inventory::PciAddress& addr,
                        const std::function<Status(const inventory::PciAddress&)>& detach,
                        result::ActionResult* r) {
  const std::string dev = "/sys/bus/pci/devices/" + addr.ToString();
  std::string before = CurrentDriver(fs, addr);
  if (before == "vfio-pci") {
    BindVfio(fs, addr, r);  // at most pins driver_override
    return;
  }
  if (Status s = detach(addr); !s.ok()) {
    r->outcome = Outcome::kFailed;
    r->message = s.ToString();
    return;
  }
  std::string after = CurrentDriver(fs, addr);
  if (after != "vfio-pci") {
    r->outcome = Outcome::kFailed;
    r->message = "read back after libvirt detach: driver is '" +
                 (after.empty() ? std::string("none") : after) + "', not vfio-pci";
    return;
  }
  // libvirt sets driver_override too; make sure the pin is there.
  (void)fs.WriteAttribute(dev + "/driver_override", "vfio-pci", true);
  r->outcome = Outcome::kDone;
  r->message = (before.empty() ? std::string("bound") : "moved from " + before) +
               " to vfio-pci through libvirt";
}

}  // namespace gpuhost::apply
