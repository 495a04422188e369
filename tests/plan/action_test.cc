// Each kind of action carries its own payload type; in the result file it is
// the same "kind", "target", "value" strings as ever. Every payload reads
// back as itself, a target that must be an address is one, and a kernel
// parameter's state is "present" or "missing", nothing else.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "plan/json.h"
#include "plan/model.h"

namespace gpuhost::plan {
namespace {

using nlohmann::json;

PciAddress Addr(const char* text) { return *PciAddress::Parse(text); }

struct Case {
  Action action;
  const char* kind;
  const char* target;
  const char* value;
};

std::vector<Case> Cases() {
  return {
      {{act::LoadModule{"nvidia_drm", "modeset=1"}, "KMS"},
       "load-module",
       "nvidia_drm",
       "modeset=1"},
      {{act::BindVfio{Addr("0000:17:00.0"), "nvidia"}, "rule"},
       "bind-vfio",
       "0000:17:00.0",
       "nvidia"},
      {{act::BindVfio{Addr("0000:17:00.1"), ""}, "no driver"}, "bind-vfio", "0000:17:00.1", ""},
      {{act::WriteFile{"/etc/modprobe.d/gpuhost.conf", "options x\n"}, "persist"},
       "write-file",
       "/etc/modprobe.d/gpuhost.conf",
       "options x\n"},
      {{act::SetSysctl{"kernel.kptr_restrict", "2"}, "hardening"},
       "set-sysctl",
       "kernel.kptr_restrict",
       "2"},
      {{act::KernelParam{"intel_iommu=on", ParamState::kPresent}, "in cmdline"},
       "kernel-param",
       "intel_iommu=on",
       "present"},
      {{act::KernelParam{"iommu=pt", ParamState::kMissing}, "wanted"},
       "kernel-param",
       "iommu=pt",
       "missing"},
      {{act::UpdateBootloader{"grub"}, "regenerate"}, "update-bootloader", "grub", ""},
      {{act::RequestReboot{"intel_iommu=on iommu=pt"}, "lacks"},
       "request-reboot",
       "intel_iommu=on iommu=pt",
       ""},
      {{act::KeepOnHost{Addr("0000:81:00.0"), "vfio-pci"}, "kept"},
       "keep-on-host",
       "0000:81:00.0",
       "vfio-pci"},
  };
}

TEST(ActionTest, PayloadsAreTheResultFilesTargetAndValue) {
  for (const auto& c : Cases()) {
    EXPECT_STREQ(ActionKindName(c.action.Kind()), c.kind);
    EXPECT_EQ(c.action.Target(), c.target) << c.kind;
    EXPECT_EQ(c.action.Value(), c.value) << c.kind;
    json j = ToJson(c.action);
    EXPECT_EQ(j, json({{"kind", c.kind},
                       {"target", c.target},
                       {"value", c.value},
                       {"reason", c.action.reason}}));
  }
}

TEST(ActionTest, EveryPayloadReadsBackAsItself) {
  for (const auto& c : Cases()) {
    auto back = ActionFromJson(ToJson(c.action));
    ASSERT_TRUE(back.ok()) << c.kind << ": " << back.status().ToString();
    EXPECT_EQ(back->payload.index(), c.action.payload.index()) << c.kind;
    EXPECT_EQ(ToJson(*back), ToJson(c.action)) << c.kind;
    EXPECT_EQ(back->reason, c.action.reason);
  }
  auto bind = ActionFromJson(ToJson(Cases()[1].action));
  ASSERT_TRUE(bind.ok());
  ASSERT_NE(bind->As<act::BindVfio>(), nullptr);
  EXPECT_EQ(bind->As<act::BindVfio>()->address, Addr("0000:17:00.0"));
  EXPECT_EQ(bind->As<act::BindVfio>()->driver, "nvidia");
  EXPECT_EQ(bind->As<act::KeepOnHost>(), nullptr);
  auto param = ActionFromJson(ToJson(Cases()[5].action));
  ASSERT_TRUE(param.ok());
  ASSERT_NE(param->As<act::KernelParam>(), nullptr);
  EXPECT_EQ(param->As<act::KernelParam>()->state, ParamState::kPresent);
}

// What apply would otherwise have to parse again is checked once, on reading.
TEST(ActionTest, MalformedPayloadsAreErrorsNamingTheField) {
  const std::vector<std::pair<json, const char*>> bad = {
      {{{"kind", "bind-vfio"}, {"target", "17:00"}, {"value", ""}, {"reason", ""}}, "target"},
      {{{"kind", "keep-on-host"}, {"target", "nvidia"}, {"value", ""}, {"reason", ""}}, "target"},
      {{{"kind", "kernel-param"}, {"target", "iommu=pt"}, {"value", ""}, {"reason", ""}}, "value"},
      {{{"kind", "kernel-param"}, {"target", "iommu=pt"}, {"value", "yes"}, {"reason", ""}},
       "value"},
      {{{"kind", "update-bootloader"}, {"target", "grub"}, {"value", "x"}, {"reason", ""}},
       "value"},
      {{{"kind", "request-reboot"}, {"target", "iommu=pt"}, {"value", "x"}, {"reason", ""}},
       "value"},
      {{{"kind", "reboot"}, {"target", ""}, {"value", ""}, {"reason", ""}}, "kind"},
  };
  for (const auto& [j, field] : bad) {
    auto a = ActionFromJson(j);
    ASSERT_FALSE(a.ok()) << j.dump();
    EXPECT_NE(a.status().ToString().find(std::string("'") + field + "'"), std::string::npos)
        << j.dump() << ": " << a.status().ToString();
  }
}

// `restore`'s payload: the original driver is its own field, and to the
// journal it is a keep-on-host on the address (or on the record when the
// record itself could not be read).
TEST(ActionTest, RestoreCarriesTheOriginalDriver) {
  Action a{act::Restore{Addr("0000:17:00.0"), "nvidia", "/var/lib/gpuhost/original-drivers.json"},
           "restore"};
  EXPECT_EQ(a.Kind(), ActionKind::kKeepOnHost);
  EXPECT_EQ(a.Target(), "0000:17:00.0");
  EXPECT_EQ(a.Value(), "nvidia");
  EXPECT_EQ(a.As<act::Restore>()->original_driver, "nvidia");
  Action record{act::Restore{std::nullopt, "", "/var/lib/gpuhost/original-drivers.json"}, ""};
  EXPECT_EQ(record.Kind(), ActionKind::kKeepOnHost);
  EXPECT_EQ(record.Target(), "/var/lib/gpuhost/original-drivers.json");
  EXPECT_EQ(record.Value(), "");
}

}  // namespace
}  // namespace gpuhost::plan
