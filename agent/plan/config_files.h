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
// driver_override at device add, before any driver module loads (udev's
// 80-drivers.rules loads modules after these rules ran).
std::string UdevRules(const std::vector<PciAddress>& vfio_functions);
std::string SysctlConf(const std::vector<std::pair<std::string, std::string>>& settings);
// Host GPUs only; BusID is decimal "PCI:bus@domain:device:function".
std::string XorgConf(const std::vector<PciAddress>& host_nvidia_gpus);
std::string XorgBusId(const PciAddress& a);
std::string GrubConf(const std::vector<std::string>& params);

}  // namespace gpuhost::plan
