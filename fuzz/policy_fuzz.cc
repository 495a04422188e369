// The policy parser (plan/policy.cc): /etc/gpuhost/policy.json or the
// gpuhost.policy credential, written by a person or a fleet tool. Strict:
// any exception escaping ParsePolicy is a crash (libFuzzer reports an
// uncaught exception as a deadly signal). A policy that parses is then
// planned against a small two-GPU inventory, so its values reach the plan.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "plan/json.h"
#include "plan/plan.h"
#include "plan/policy.h"
#include "plan/text.h"

using namespace gpuhost;

namespace {

inventory::PciAddress Addr(uint8_t bus, uint8_t fn) { return {0, bus, 0, fn}; }

// A host GPU at 01:00.0 (boot VGA) and an H200 with its audio function at
// 41:00.{0,1}, each in an IOMMU group of its own.
inventory::Inventory TwoGpus() {
  inventory::Inventory inv;
  inv.source = "sysfs:/fuzz";
  inv.system.cpu.virtualization = "vmx";
  inv.system.cpu.logical_cpus = 64;
  inv.system.iommu.enabled = true;
  inv.system.iommu.units = {"dmar0"};
  inv.system.kvm_device = true;
  inv.system.cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda1 intel_iommu=on iommu=pt";
  inv.system.bootloader = "grub";
  inv.system.memory = {64ull << 20, 0, 0, 2048};
  inv.system.numa_cpus = {{0, "0-31"}, {1, "32-63"}};
  auto fn = [](inventory::PciAddress a, uint16_t vendor, uint16_t device, uint16_t cls,
               const char* driver, int group, inventory::Role role) {
    inventory::PciFunction f;
    f.address = a;
    f.vendor_id = vendor;
    f.device_id = device;
    f.class_id = cls;
    f.driver = driver;
    f.iommu_group = group;
    f.numa_node = a.bus < 0x40 ? 0 : 1;
    f.role = role;
    f.reset_methods = {"flr", "bus"};
    return f;
  };
  inv.functions = {
      fn(Addr(0x01, 0), 0x1a03, 0x2000, 0x0300, "ast", 1, inventory::Role::kGpu),
      fn(Addr(0x41, 0), 0x10de, 0x2335, 0x0302, "nvidia", 2, inventory::Role::kGpu),
      fn(Addr(0x41, 1), 0x10de, 0x22a3, 0x0403, "snd_hda_intel", 2, inventory::Role::kGpuCompanion),
  };
  inv.functions[0].boot_vga = true;
  inv.gpus = {{Addr(0x01, 0), "vga", {}, true, 1, 0, "ASPEED", "AST2500"},
              {Addr(0x41, 0), "3d", {Addr(0x41, 1)}, false, 2, 1, "NVIDIA", "H200"}};
  inv.iommu_groups = {{1, "DMA", {Addr(0x01, 0)}}, {2, "DMA", {Addr(0x41, 0), Addr(0x41, 1)}}};
  inv.critical = {{Addr(0x01, 0), "boot console (boot_vga)"}};
  return inv;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const inventory::Inventory inv = TwoGpus();
  auto policy =
      plan::ParsePolicy(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz.json");
  if (!policy.ok()) return 0;
  plan::Plan p = plan::MakePlan(inv, *policy);
  plan::ToText(inv, p);
  plan::ToJson(p).dump();
  return 0;
}
