// The files the agent writes, as text. Pure functions: the plan carries the
// contents, apply only writes them (atomically) and reads them back.
#pragma once

#include <string>
#include <vector>

#include "inventory/model.h"
#include "plan/decide.h"
#include "plan/policy.h"

namespace gpuhost::plan {

inline constexpr const char* kModprobeConf = "/etc/modprobe.d/gpuhost.conf";
inline constexpr const char* kBlacklistConf = "/etc/modprobe.d/gpuhost-hardening.conf";
inline constexpr const char* kModulesLoadConf = "/etc/modules-load.d/gpuhost.conf";
inline constexpr const char* kUdevRules = "/etc/udev/rules.d/70-gpuhost-vfio.rules";
inline constexpr const char* kSysctlConf = "/etc/sysctl.d/90-gpuhost-hardening.conf";
inline constexpr const char* kXorgConf = "/etc/X11/xorg.conf.d/10-gpuhost.conf";
inline constexpr const char* kGrubConf = "/etc/default/grub.d/90-gpuhost.cfg";

std::string ModprobeConf(bool host_nvidia);
std::string BlacklistConf(const std::vector<std::string>& modules);
std::string ModulesLoadConf(const std::vector<std::string>& modules);
// A passthrough function as the boot files name it: its address and the
// vendor:device found there, so a card swapped into the slot is not claimed.
struct VfioFunction {
  PciAddress address;
  uint16_t vendor_id = 0;
  uint16_t device_id = 0;
};
// driver_override at device add (a function hot-added later, and every boot
// again): udev's 80-drivers.rules loads modules after these rules ran. The
// same file is what `gpuhost-agent pin-vfio` (apply/pin_vfio.h) pins before
// udev's coldplug: one list, so the two never disagree.
std::string UdevRules(const std::vector<VfioFunction>& vfio_functions);
std::string SysctlConf(const std::vector<std::pair<std::string, std::string>>& settings);
// Host GPUs only; BusID is decimal "PCI:bus@domain:device:function".
std::string XorgConf(const std::vector<PciAddress>& host_nvidia_gpus);
std::string XorgBusId(const PciAddress& a);
std::string GrubConf(const std::vector<std::string>& params);

}  // namespace gpuhost::plan
