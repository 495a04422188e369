// Which PCI storage controllers the running host uses, and how: every
// mounted file system (/proc/self/mountinfo, all mounts, not only /), swap
// (/proc/swaps) and every active md/dm stack (LVM, LUKS, multipath), each
// followed through /sys/class/block/*/slaves down to its disks. Inventory
// (critical devices) and apply's holders gate read the same facts from here.
//
// What sysfs cannot show is reported as unknown, never guessed: an
// unreadable mountinfo or swaps, a mounted device not in sysfs, an imported
// ZFS pool (ZFS opens its disks without sysfs holders links, so its disks
// cannot be told apart from idle ones). Not seen at all: a disk a process
// opens directly without mounting it (a VM's raw /dev/sdX).
#pragma once

#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

struct BlockUse {
  PciAddress controller;
  // "mount" (what: the first mount point), "swap" (what: /dev/sda2),
  // "stack" (what: the active md/dm device, e.g. dm-4).
  std::string kind;
  std::string what;
  // "/dev/vda mounted at /var/lib/libvirt/images", "/dev/sda2 used as swap",
  // "/dev/sda1 in md0, mounted at /srv", "/dev/sdb in dm-4 (vg-vm1), active"
  std::string why;
};

struct BlockUses {
  std::vector<BlockUse> uses;       // in the order found: mounts, swaps, stacks
  std::vector<UnknownUse> unknown;  // all of class kStorage
};

BlockUses ScanBlockUses(const Fs& fs);

}  // namespace gpuhost::inventory
