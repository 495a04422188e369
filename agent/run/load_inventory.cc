#include "run/load_inventory.h"

#include <chrono>

#include "inventory/inventory.h"
#include "run/deadline_call.h"

namespace gpuhost::run {
namespace {

// A copy of the inventory goes to libvirt's thread: late, the thread is
// abandoned with its copy and the connection, and binds go through sysfs.
void ConnectForApply(int timeout_ms, LoadedInventory* out) {
  auto copy = std::make_shared<inventory::Inventory>(out->inv);
  auto conn = CallWithDeadline<std::shared_ptr<virt::Connection>>(
      [copy]() -> std::shared_ptr<virt::Connection> {
        return virt::Connect(copy.get(),
                             {"qemu:///system", /*read_only=*/false, virt::DaemonRunning()});
      },
      std::chrono::milliseconds(timeout_ms));
  if (conn) {
    out->inv.virt = copy->virt;
    out->libvirt = *conn;
    return;
  }
  out->libvirt_abandoned = true;
  virt::JudgeKvm(&out->inv);
  out->inv.virt.libvirt_error = "libvirt did not answer within its deadline of " +
                                std::to_string(timeout_ms) + " ms; not asked again in this run";
}

void AskLibvirt(const Fs& fs, const LoadOptions& opts, LoadedInventory* out) {
  if (opts.libvirt == LibvirtStep::kNone || !opts.pci.dump_file.empty()) return;
  if (!fs.root().empty()) {
    virt::JudgeKvm(&out->inv);
  } else if (opts.libvirt == LibvirtStep::kReadOnly) {
    virt::Connect(&out->inv, {"qemu:///system", /*read_only=*/true, virt::DaemonRunning()});
  } else {
    ConnectForApply(opts.libvirt_timeout_ms, out);
  }
}

}  // namespace

Status LoadInventory(const Fs& fs, const LoadOptions& opts, LoadedInventory* out) {
  *out = LoadedInventory();
  // Collect itself turns every per-device or per-file problem into a
  // warning; its error means that no PCI function could be read at all.
  Status s = inventory::Collect(fs, opts.pci, &out->inv);
  if (!s.ok()) {
    std::string where = !opts.pci.dump_file.empty()
                            ? "the PCI dump " + opts.pci.dump_file
                            : "/sys/bus/pci under " + (fs.root().empty() ? "/" : fs.root());
    return Status::FromCode(s.code(), "cannot read " + where + ": " + s.message());
  }
  AskLibvirt(fs, opts, out);
  return Status::Ok();
}

}  // namespace gpuhost::run
