#include "inventory/identity_scan.h"

#include "base/strings.h"

namespace gpuhost::inventory {
namespace {

// Not ReadTrimmed's warning: an unprivileged container's root is refused
// product_uuid (0400 root on the host), and that is not the run's problem.
std::string ReadIfThere(const Fs& fs, const std::string& path) {
  auto r = fs.Read(path);
  return r.ok() ? std::string(Trim(*r)) : std::string();
}

}  // namespace

Identity ScanIdentity(const Fs& fs) {
  Identity id;
  id.machine_id = ReadIfThere(fs, "/etc/machine-id");
  // /sys/class/dmi/id links to /sys/devices/virtual/dmi/id; the Fs follows
  // it inside the root.
  id.product_uuid = ReadIfThere(fs, "/sys/class/dmi/id/product_uuid");
  id.product_serial = ReadIfThere(fs, "/sys/class/dmi/id/product_serial");
  return id;
}

}  // namespace gpuhost::inventory
