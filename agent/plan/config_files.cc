#include "plan/config_files.h"

#include "base/strings.h"

namespace gpuhost::plan {
namespace {

constexpr const char* kHeader =
    "# Written by gpuhost-agent from its policy; changes here are overwritten.\n";

}  // namespace

std::string ModprobeConf(bool host_nvidia) {
  std::string s = kHeader;
  s += "# vfio-pci loads before every GPU driver, so the driver_override set by\n"
       "# 70-gpuhost-vfio.rules hands passthrough GPUs to it first.\n";
  // Real module names only. Not "nvidia": Debian maps it to nvidia-current with an install
  // command, and kmod drops a name's install command once a softdep names it (kmod 34.2,
  // `modprobe -n -v nvidia` with "softdep nvidia ..." loads only the softdep): the driver
  // would never load. nvidia_current is the file the install command loads; a GPU whose
  // driver_override says vfio-pci is never bound by the NVIDIA driver whatever loads first.
  for (const char* d :
       {"nvidia_current", "nvidia_current_open", "nouveau", "amdgpu", "radeon", "i915", "xe",
        "snd_hda_intel", "xhci_pci", "i2c_nvidia_gpu", "ast", "mgag200"}) {
    s += std::string("softdep ") + d + " pre: vfio-pci\n";
  }
  s += "# nouveau never drives a GPU here (the NVIDIA driver or vfio-pci does).\n";
  s += "blacklist nouveau\noptions nouveau modeset=0\n";
  if (host_nvidia) s += "# Host GPUs: KMS for Xorg and Wayland.\noptions nvidia-drm modeset=1\n";
  return s;
}

std::string BlacklistConf(const std::vector<std::string>& modules) {
  std::string s = kHeader;
  s += "# Hardening: modules a GPU/KVM host never needs cannot be auto-loaded.\n";
  for (const auto& m : modules) s += "install " + m + " /bin/false\n";
  return s;
}

std::string ModulesLoadConf(const std::vector<std::string>& modules) {
  std::string s = kHeader;
  for (const auto& m : modules) s += m + "\n";
  return s;
}

std::string UdevRules(const std::vector<VfioFunction>& vfio_functions) {
  std::string s = kHeader;
  s += "# Each passthrough function is claimed by address (never by vendor:device,\n"
       "# which would also take a host GPU of the same model) and only while the\n"
       "# device there is the one the policy saw. vfio-pci may have registered\n"
       "# before this event set the override (modules-load.d runs early), so the\n"
       "# device is probed again once the override is in place.\n";
  for (const auto& f : vfio_functions) {
    s += "ACTION==\"add\", SUBSYSTEM==\"pci\", KERNEL==\"" + f.address.ToString() +
         "\", ATTR{vendor}==\"0x" + Hex(f.vendor_id, 4) + "\", ATTR{device}==\"0x" +
         Hex(f.device_id, 4) +
         "\", ATTR{driver_override}=\"vfio-pci\", RUN+=\"/bin/sh -c 'modprobe -q vfio-pci; echo "
         "$kernel > /sys/bus/pci/drivers_probe'\"\n";
  }
  return s;
}

std::string SysctlConf(const std::vector<std::pair<std::string, std::string>>& settings) {
  std::string s = kHeader;
  for (const auto& [k, v] : settings) s += k + " = " + v + "\n";
  return s;
}

std::string XorgBusId(const PciAddress& a) {
  std::string id = "PCI:" + std::to_string(a.bus);
  if (a.domain != 0) id += "@" + std::to_string(a.domain);
  return id + ":" + std::to_string(a.device) + ":" + std::to_string(a.function);
}

std::string XorgConf(const std::vector<PciAddress>& host_nvidia_gpus) {
  std::string s = kHeader;
  s += "Section \"OutputClass\"\n"
       "    Identifier \"gpuhost-nvidia\"\n"
       "    MatchDriver \"nvidia-drm\"\n"
       "    Driver \"nvidia\"\n"
       "    Option \"PrimaryGPU\" \"yes\"\n"
       "EndSection\n";
  for (size_t i = 0; i < host_nvidia_gpus.size(); ++i) {
    s += "\nSection \"Device\"\n"
         "    Identifier \"gpuhost-gpu" +
         std::to_string(i) +
         "\"\n"
         "    Driver \"nvidia\"\n"
         "    BusID \"" +
         XorgBusId(host_nvidia_gpus[i]) +
         "\"\n"
         "    # Keep the driver off the GPUs handed to vfio-pci.\n"
         "    Option \"ProbeAllGpus\" \"false\"\n"
         "EndSection\n";
  }
  return s;
}

std::string GrubConf(const std::vector<std::string>& params) {
  std::string joined;
  for (const auto& p : params) joined += " " + p;
  return std::string(kHeader) + "GRUB_CMDLINE_LINUX_DEFAULT=\"$GRUB_CMDLINE_LINUX_DEFAULT" +
         joined + "\"\n";
}

}  // namespace gpuhost::plan
