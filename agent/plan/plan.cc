#include "plan/plan.h"

#include <algorithm>

#include "base/strings.h"
#include "plan/config_files.h"
#include "plan/decide.h"
#include "plan/hardening.h"

namespace gpuhost::plan {
namespace {

bool OnCmdline(const std::string& cmdline, const std::string& param) {
  for (const auto& tok : Split(cmdline, ' ')) {
    if (Trim(tok) == param) return true;
  }
  return false;
}

void Add(Plan* p, ActionPayload payload, std::string reason) {
  p->actions.push_back({std::move(payload), std::move(reason)});
}

// One check per wanted kernel parameter; returns the missing ones.
std::vector<std::string> CheckKernelParams(const inventory::Inventory& inv, Plan* plan) {
  std::vector<std::string> missing;
  for (const auto& p : plan->kernel_params) {
    bool present = OnCmdline(inv.system.cmdline, p);
    Add(plan, act::KernelParam{p, present ? ParamState::kPresent : ParamState::kMissing},
        present ? "in /proc/cmdline" : "wanted, not in /proc/cmdline");
    if (!present) missing.push_back(p);
  }
  return missing;
}

std::vector<PciAddress> HostNvidiaGpus(const inventory::Inventory& inv, const Decisions& d) {
  std::vector<PciAddress> out;
  for (const auto& g : d.gpus) {
    const auto* f = inv.Find(g.gpu);
    if (f && f->vendor_id == 0x10de && g.assignment == Assignment::kHost) out.push_back(g.gpu);
  }
  return out;
}

std::vector<std::string> BootModules(const inventory::Inventory& inv) {
  std::vector<std::string> modules = {"vfio", "vfio_iommu_type1", "vfio_pci", "vhost_net"};
  if (inv.system.cpu.virtualization == "vmx") modules.push_back("kvm_intel");
  if (inv.system.cpu.virtualization == "svm") modules.push_back("kvm_amd");
  return modules;
}

// Persistence first: a run killed after these still binds at next boot.
void AddBootFiles(const inventory::Inventory& inv, const Policy& policy, const Decisions& d,
                  bool host_nvidia, const std::vector<std::string>& boot_modules, Plan* plan) {
  std::vector<VfioFunction> vfio;
  for (const auto& [a, why] : d.vfio_functions) {
    const auto* f = inv.Find(a);  // decided from the inventory: always found
    vfio.push_back(
        {a, f != nullptr ? f->vendor_id : uint16_t{0}, f != nullptr ? f->device_id : uint16_t{0}});
  }
  Add(plan, act::WriteFile{kModprobeConf, ModprobeConf(host_nvidia)},
      "vfio-pci before GPU drivers; nouveau blacklisted");
  Add(plan, act::WriteFile{kModulesLoadConf, ModulesLoadConf(boot_modules)},
      "load the vfio and KVM modules at every boot");
  Add(plan, act::WriteFile{kUdevRules, UdevRules(vfio)},
      std::to_string(vfio.size()) + " function(s) claimed for vfio-pci at boot");
  auto blacklist = BlacklistedModules(policy.hardening);
  Add(plan, act::WriteFile{kBlacklistConf, BlacklistConf(blacklist)},
      std::string("hardening ") + HardeningName(policy.hardening) + ": " +
          std::to_string(blacklist.size()) + " modules kept from loading");
}

// Before anything binds: each function the policy keeps on the host. One
// an earlier policy sent to vfio-pci is given back live; on a host driver
// there is nothing to do (or a killed run's release to finish).
void AddKeepOnHost(const inventory::Inventory& inv, const Decisions& d, Plan* plan) {
  for (const auto* decisions : {&d.gpus, &d.devices}) {
    for (const auto& g : *decisions) {
      if (g.assignment != Assignment::kHost) continue;
      for (const auto& a : g.functions) {
        const auto* f = inv.Find(a);
        bool moving = std::any_of(d.vfio_functions.begin(), d.vfio_functions.end(),
                                  [&](const auto& v) { return v.first == a; });
        if (f == nullptr || moving) continue;
        std::string driver = f->driver ? *f->driver : "";
        Add(plan, act::KeepOnHost{a, driver},
            "kept on the host (" + g.rule + ")" +
                (driver == "vfio-pci" ? ": leaves vfio-pci now, no reboot" : ""));
      }
    }
  }
}

void AddBinds(const inventory::Inventory& inv, const Decisions& d, Plan* plan) {
  for (const auto& [a, why] : d.vfio_functions) {
    const auto* f = inv.Find(a);
    Add(plan, act::BindVfio{a, f && f->driver ? *f->driver : ""}, why);
  }
}

// Host NVIDIA GPUs get their driver only after the vfio GPUs are bound.
void AddHostNvidia(const std::vector<PciAddress>& host_nvidia, Plan* plan) {
  std::string why = "host NVIDIA GPU(s)";
  Add(plan, act::LoadModule{"nvidia", ""}, why);
  Add(plan, act::LoadModule{"nvidia_modeset", ""}, why);
  Add(plan, act::LoadModule{"nvidia_drm", "modeset=1"}, why + ": KMS");
  Add(plan, act::LoadModule{"nvidia_uvm", ""}, why + ": CUDA");
  Add(plan, act::WriteFile{kXorgConf, XorgConf(host_nvidia)},
      "Xorg on host GPUs only, never on vfio GPUs");
}

void AddSysctls(const Policy& policy, Plan* plan) {
  std::vector<std::pair<std::string, std::string>> sysctls;
  for (const auto& s : HardeningSysctls(policy.hardening)) sysctls.push_back({s.key, s.value});
  if (policy.hugepage_size_kib == 2048 && policy.hugepages > 0) {
    sysctls.push_back({"vm.nr_hugepages", std::to_string(policy.hugepages)});
  }
  Add(plan, act::WriteFile{kSysctlConf, SysctlConf(sysctls)},
      std::string("hardening ") + HardeningName(policy.hardening) + " and hugepages, every boot");
  for (const auto& [k, v] : sysctls) {
    Add(plan, act::SetSysctl{k, v}, k == "vm.nr_hugepages" ? "policy hugepages" : "hardening");
  }
}

// Kernel parameters the running kernel lacks: GRUB gets them and a reboot;
// other bootloaders a warning saying where they go.
void AddBootloader(const inventory::Inventory& inv, const std::vector<std::string>& missing,
                   Plan* plan) {
  std::string joined;
  for (const auto& m : missing) joined += (joined.empty() ? "" : " ") + m;
  if (inv.system.bootloader == "grub") {
    Add(plan, act::WriteFile{kGrubConf, GrubConf(plan->kernel_params)},
        "kernel parameters for GRUB");
    Add(plan, act::UpdateBootloader{"grub"}, "regenerate grub.cfg");
    Add(plan, act::RequestReboot{joined}, "the running kernel lacks: " + joined);
    return;
  }
  plan->warnings.push_back(
      {"kernel parameters",
       "missing from /proc/cmdline: " + joined +
           (inv.system.bootloader.empty()
                ? "; no GRUB or systemd-boot entries found (a UKI's command line is baked "
                  "at image build): rebuild the image with them"
                : "; systemd-boot: add them to the loader entry or /etc/kernel/cmdline")});
}

}  // namespace

std::vector<std::string> FramebufferConflicts(const inventory::Inventory& inv,
                                              const std::vector<GpuDecision>& gpus) {
  std::vector<std::string> out;
  for (const auto& d : gpus) {
    if (d.assignment != Assignment::kVfio) continue;
    const auto* f = inv.Find(d.gpu);
    if (f == nullptr) continue;
    for (const auto& fb : inv.system.framebuffers) {
      for (const auto& b : f->bars) {
        if (b.start <= fb.end && fb.start <= b.end) {
          out.push_back("boot framebuffer " + fb.name + " (" + Hex(fb.start, 8) + "-" +
                        Hex(fb.end, 8) + ") lies in BAR " + std::to_string(b.index) + " of " +
                        d.gpu.ToString());
        }
      }
    }
  }
  return out;
}

std::vector<std::string> WantedKernelParams(const inventory::Inventory& inv, const Policy& policy) {
  std::vector<std::string> params;
  if (inv.system.iommu.firmware_table == "DMAR") params.push_back("intel_iommu=on");
  // Identity-map the host's own devices for speed; strict keeps translation.
  if (policy.hardening != Hardening::kStrict) params.push_back("iommu=pt");
  if (policy.hugepage_size_kib == 1048576 && policy.hugepages > 0) {
    params.push_back("hugepagesz=1G");
    params.push_back("hugepages=" + std::to_string(policy.hugepages));
  }
  // The firmware framebuffer keeps a vfio GPU's BAR reserved: keep the
  // kernel from registering it (only when a vfio GPU is affected).
  if (!FramebufferConflicts(inv, DecideGpus(inv, policy).gpus).empty()) {
    params.push_back("initcall_blacklist=sysfb_init");
  }
  for (const auto& p : policy.kernel_params) {
    if (std::find(params.begin(), params.end(), p) == params.end()) params.push_back(p);
  }
  return params;
}

Plan MakePlan(const inventory::Inventory& inv, const Policy& policy) {
  Plan plan;
  Decisions d = DecideGpus(inv, policy);
  plan.gpus = d.gpus;
  plan.devices = d.devices;
  plan.warnings = d.warnings;
  plan.kernel_params = WantedKernelParams(inv, policy);
  for (const auto& c : FramebufferConflicts(inv, d.gpus)) {
    plan.warnings.push_back({"framebuffer", c + ": vfio-pci cannot reserve it until the kernel "
                                                "boots with initcall_blacklist=sysfb_init"});
  }
  const std::vector<std::string> missing = CheckKernelParams(inv, &plan);
  if (!d.vfio_functions.empty() && inv.system.iommu.firmware_table.empty() &&
      !inv.system.iommu.enabled) {
    plan.warnings.push_back({"iommu",
                             "no ACPI DMAR or IVRS table: this firmware shows no IOMMU; "
                             "enable VT-d/AMD-Vi in the firmware setup"});
  }
  const std::vector<PciAddress> host_nvidia = HostNvidiaGpus(inv, d);
  const std::vector<std::string> boot_modules = BootModules(inv);
  AddBootFiles(inv, policy, d, !host_nvidia.empty(), boot_modules, &plan);
  for (const auto& m : boot_modules) {
    Add(&plan, act::LoadModule{m, ""}, "KVM host and GPU passthrough");
  }
  if (inv.system.cpu.virtualization.empty()) {
    plan.warnings.push_back({"cpu",
                             "no VT-x/AMD-V flag in /proc/cpuinfo: KVM cannot run VMs "
                             "(enable virtualisation in the firmware setup)"});
  }
  AddKeepOnHost(inv, d, &plan);
  AddBinds(inv, d, &plan);
  if (!host_nvidia.empty()) AddHostNvidia(host_nvidia, &plan);
  AddSysctls(policy, &plan);
  if (!missing.empty()) AddBootloader(inv, missing, &plan);
  return plan;
}

}  // namespace gpuhost::plan
