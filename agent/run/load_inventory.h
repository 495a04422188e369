// The inventory every command starts from: inventory::Collect on the root
// (or a PCI dump), then the libvirt step, in one place that also decides
// what stops a command. No command plans, applies, restores or reports from
// an inventory this says could not be taken.
#pragma once

#include <memory>

#include "base/status.h"
#include "host/fs.h"
#include "inventory/model.h"
#include "inventory/pci_scan.h"
#include "libvirt/virt.h"

namespace gpuhost::run {

// What libvirt is asked. libvirt describes the running system only: on a
// --root tree KVM is judged from the inventory alone (virt::JudgeKvm), and
// a PCI dump gets no libvirt step at all. On "/" only a libvirtd (or
// virtqemud) that already runs is asked (virt::DaemonRunning): at boot the
// agent runs before it, and connecting to its socket would wait for a
// daemon that waits for the agent.
enum class LibvirtStep {
  kNone,      // no VM information (plan, restore, gpu-status, holders)
  kReadOnly,  // "/": a read-only connection, described and closed (inventory)
  // "/": a read-write connection kept for detaches (apply), opened and
  // described on its own thread with a deadline (run/deadline_call.h): a
  // wedged libvirtd must not hold the run.
  kForApply,
};

struct LoadOptions {
  inventory::PciSource pci;  // --pci-dump, --pci-ids; default: sysfs under the root
  LibvirtStep libvirt = LibvirtStep::kNone;
  int libvirt_timeout_ms = 30000;  // kForApply's deadline
};

struct LoadedInventory {
  inventory::Inventory inv;
  // kForApply on "/" with libvirt answering in time: the open connection;
  // null otherwise (inv.virt.libvirt_error says why).
  std::shared_ptr<virt::Connection> libvirt;
  // kForApply: libvirt missed its deadline. A thread is still inside libvirt
  // with its own copy of the inventory; binds go through sysfs, libvirt is
  // not asked again, and the process must leave with _exit (libvirt's exit
  // handlers must not run under that thread).
  bool libvirt_abandoned = false;
};

// Takes the inventory into `out`. Fatal, and an error naming the root (or
// dump) and what could not be read: no PCI function can be read at all (a
// root that is not there or not readable, no /sys/bus/pci, a dump libpci
// cannot read). The libvirt step is then skipped, and out->inv holds what
// was read (its warnings say more). Everything else -- one device's
// garbage attribute, a missing /proc file, an IOMMU group that disagrees,
// libvirt not running or not answering -- is a warning inside the inventory
// (or inv.virt.libvirt_error), never an error: the command goes on,
// degraded, as it always has.
[[nodiscard]] Status LoadInventory(const Fs& fs, const LoadOptions& opts, LoadedInventory* out);

}  // namespace gpuhost::run
