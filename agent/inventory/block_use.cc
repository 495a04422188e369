#include "inventory/block_use.h"

#include <map>

#include "base/strings.h"
#include "inventory/device_path.h"
#include "inventory/mountinfo.h"
#include "inventory/proc_fields.h"

namespace gpuhost::inventory {
namespace {

constexpr int kMaxDepth = 8;  // a loop in a corrupt tree

// A block device the host uses directly: mounted, swap, or the top of an
// active stack. `name` is its /sys/class/block name.
struct TopUse {
  std::string kind;
  std::string what;
  std::string use;  // "mounted at /srv", "used as swap", "active"
  std::string dir;  // its sysfs directory when found through /sys/dev/block
  int more_mounts = 0;
};

std::string Basename(const std::string& path) { return path.substr(path.rfind('/') + 1); }

// The /sys/class/block name of a device node ("/dev/sda2", "/dev/mapper/vg-var",
// "/dev/disk/by-uuid/..."), "" when it cannot be told.
std::string BlockName(const Fs& fs, const std::string& node) {
  if (fs.Exists("/sys/class/block/" + Basename(node))) return Basename(node);
  if (auto target = fs.ReadLink(node); target.ok()) {
    if (fs.Exists("/sys/class/block/" + Basename(*target))) return Basename(*target);
  }
  if (StartsWith(node, "/dev/mapper/")) {
    if (auto all = fs.List("/sys/class/block"); all.ok()) {
      for (const auto& n : *all) {
        auto dm = fs.Read("/sys/class/block/" + n + "/dm/name");
        if (dm.ok() && Trim(*dm) == Basename(node)) return n;
      }
    }
  }
  return "";
}

std::string Label(const Fs& fs, const std::string& name) {
  auto dm = fs.Read("/sys/class/block/" + name + "/dm/name");
  return dm.ok() && !Trim(*dm).empty() ? name + " (" + std::string(Trim(*dm)) + ")" : name;
}

void Mounts(const Fs& fs, std::map<std::string, TopUse>* tops, std::vector<UnknownUse>* unknown) {
  const std::string src = "/proc/self/mountinfo";
  auto info = fs.Read(src);
  if (!info.ok()) {
    unknown->push_back({UseClass::kStorage, src, "cannot be read: " + info.status().ToString()});
    return;
  }
  for (const auto& line : Split(*info, '\n')) {
    auto m = ParseMountInfoLine(line);
    if (!m) continue;
    const std::string& fstype = m->fstype;
    const std::string& source = m->source;
    const std::string& mount_point = m->mount_point;
    std::string name, dev_dir;
    if (auto dir = ClassDevice(fs, "/sys/dev/block/" + m->dev); dir.ok()) {
      name = Basename(*dir);
      dev_dir = *dir;
    } else if (!StartsWith(m->dev, "0:")) {
      unknown->push_back(
          {UseClass::kStorage, src,
           "block device " + m->dev + " mounted at " + mount_point + " is not in /sys/dev/block"});
      continue;
    } else if (StartsWith(source, "/dev/")) {
      // An anonymous device number (btrfs): the source names the disk.
      name = BlockName(fs, source);
      if (name.empty()) {
        unknown->push_back({UseClass::kStorage, src,
                            source + " (" + fstype + ") mounted at " + mount_point +
                                " is not in /sys/class/block"});
        continue;
      }
    } else {
      continue;  // tmpfs, proc, overlay, nfs (its NIC has a route), zfs (below)
    }
    auto [it, added] =
        tops->try_emplace(name, TopUse{"mount", mount_point, "mounted at " + mount_point, dev_dir});
    if (!added && it->second.kind == "mount" && it->second.what != mount_point) {
      it->second.more_mounts++;
    }
  }
}

void Swaps(const Fs& fs, std::map<std::string, TopUse>* tops, std::vector<UnknownUse>* unknown) {
  const std::string src = "/proc/swaps";
  auto swaps = fs.Read(src);
  if (!swaps.ok()) {
    unknown->push_back({UseClass::kStorage, src, "cannot be read: " + swaps.status().ToString()});
    return;
  }
  auto lines = Split(*swaps, '\n');
  for (size_t i = 1; i < lines.size(); ++i) {
    // /dev/sda2  partition  8388604  0  -2
    auto w = ProcFields(lines[i]);
    if (w.size() < 2 || w[1] != "partition") continue;  // a swap file's file system is mounted
    std::string node = Unescape(w[0]);
    std::string name = BlockName(fs, node);
    if (name.empty()) {
      unknown->push_back({UseClass::kStorage, src, "swap " + node + " is not in /sys/class/block"});
      continue;
    }
    tops->try_emplace(name, TopUse{"swap", node, "used as swap", ""});
  }
}

// Tops of active md/dm stacks nothing above uses: a logical volume a VM
// opens, an assembled array not mounted yet. Their disks are in use too.
void ActiveStacks(const Fs& fs, const std::vector<std::string>& all,
                  std::map<std::string, TopUse>* tops) {
  for (const auto& n : all) {
    const std::string dir = "/sys/class/block/" + n;
    auto slaves = fs.List(dir + "/slaves");
    if (!slaves.ok() || slaves->empty()) continue;
    auto holders = fs.List(dir + "/holders");
    if (holders.ok() && !holders->empty()) continue;  // reached from its holder
    tops->try_emplace(n, TopUse{"stack", n, "active", ""});
  }
}

void ZfsPools(const Fs& fs, std::vector<UnknownUse>* unknown) {
  const std::string dir = "/proc/spl/kstat/zfs";
  auto entries = fs.List(dir);
  if (!entries.ok()) return;  // no ZFS module
  for (const auto& e : *entries) {
    if (!fs.IsDir(dir + "/" + e)) continue;  // arcstats, dbufstats, ...: pools are directories
    unknown->push_back({UseClass::kStorage, dir + "/" + e,
                        "ZFS pool " + e + " is imported; sysfs does not show which disks hold it"});
  }
}

// The disks under a block device, through slaves/ (itself when it has none).
void Leaves(const Fs& fs, const std::string& name, int depth, std::vector<std::string>* out) {
  auto slaves = fs.List("/sys/class/block/" + name + "/slaves");
  if (depth >= kMaxDepth || !slaves.ok() || slaves->empty()) {
    out->push_back(name);
    return;
  }
  for (const auto& s : *slaves) Leaves(fs, s, depth + 1, out);
}

}  // namespace

BlockUses ScanBlockUses(const Fs& fs) {
  BlockUses out;
  std::map<std::string, TopUse> tops;
  Mounts(fs, &tops, &out.unknown);
  Swaps(fs, &tops, &out.unknown);
  // Absent: the kernel has no block device at all (the folder exists with the first).
  auto all = fs.List("/sys/class/block");
  if (all.ok()) {
    ActiveStacks(fs, *all, &tops);
  } else if (!all.status().IsNotFound()) {
    out.unknown.push_back(
        {UseClass::kStorage, "/sys/class/block", "cannot be listed: " + all.status().ToString()});
  }
  ZfsPools(fs, &out.unknown);
  for (const auto& [top, use] : tops) {
    std::string text = use.use;
    if (use.more_mounts > 0) {
      text += " (and " + std::to_string(use.more_mounts) + " more mount point" +
              (use.more_mounts > 1 ? "s" : "") + ")";
    }
    std::vector<std::string> leaves;
    Leaves(fs, top, 0, &leaves);
    for (const auto& leaf : leaves) {
      Result<std::string> dir = leaf == top && !use.dir.empty()
                                    ? Result<std::string>(use.dir)
                                    : ClassDevice(fs, "/sys/class/block/" + leaf);
      if (!dir.ok()) continue;
      auto ctrl = DeepestPci(*dir);
      if (!ctrl) continue;  // virtual: loop, zram, nbd, software iSCSI
      std::string why = leaf == top ? "/dev/" + leaf + " " + text
                                    : "/dev/" + leaf + " in " + Label(fs, top) + ", " + text;
      out.uses.push_back({*ctrl, use.kind, use.what, why});
    }
  }
  return out;
}

}  // namespace gpuhost::inventory
