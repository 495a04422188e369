#include "plan/model.h"

#include <string>
#include <variant>

#include "base/overload.h"

namespace gpuhost::plan {

const char* AssignmentName(Assignment a) { return a == Assignment::kVfio ? "vfio" : "host"; }

const char* ActionKindName(ActionKind k) {
  switch (k) {
    case ActionKind::kLoadModule:
      return "load-module";
    case ActionKind::kBindVfio:
      return "bind-vfio";
    case ActionKind::kWriteFile:
      return "write-file";
    case ActionKind::kSetSysctl:
      return "set-sysctl";
    case ActionKind::kKernelParam:
      return "kernel-param";
    case ActionKind::kUpdateBootloader:
      return "update-bootloader";
    case ActionKind::kRequestReboot:
      return "request-reboot";
    case ActionKind::kKeepOnHost:
      return "keep-on-host";
  }
  return "unknown";
}

const char* ParamStateName(ParamState s) {
  return s == ParamState::kPresent ? "present" : "missing";
}

ActionKind Action::Kind() const {
  return std::visit(
      Overload{[](const act::LoadModule&) { return ActionKind::kLoadModule; },
               [](const act::BindVfio&) { return ActionKind::kBindVfio; },
               [](const act::WriteFile&) { return ActionKind::kWriteFile; },
               [](const act::SetSysctl&) { return ActionKind::kSetSysctl; },
               [](const act::KernelParam&) { return ActionKind::kKernelParam; },
               [](const act::UpdateBootloader&) { return ActionKind::kUpdateBootloader; },
               [](const act::RequestReboot&) { return ActionKind::kRequestReboot; },
               [](const act::KeepOnHost&) { return ActionKind::kKeepOnHost; },
               [](const act::Restore&) { return ActionKind::kKeepOnHost; }},
      payload);
}

std::string Action::Target() const {
  return std::visit(
      Overload{[](const act::LoadModule& a) { return a.module; },
               [](const act::BindVfio& a) { return a.address.ToString(); },
               [](const act::WriteFile& a) { return a.path; },
               [](const act::SetSysctl& a) { return a.key; },
               [](const act::KernelParam& a) { return a.param; },
               [](const act::UpdateBootloader& a) { return a.bootloader; },
               [](const act::RequestReboot& a) { return a.missing; },
               [](const act::KeepOnHost& a) { return a.address.ToString(); },
               [](const act::Restore& a) { return a.address ? a.address->ToString() : a.record; }},
      payload);
}

std::string Action::Value() const {
  return std::visit(
      Overload{[](const act::LoadModule& a) { return a.options; },
               [](const act::BindVfio& a) { return a.driver; },
               [](const act::WriteFile& a) { return a.contents; },
               [](const act::SetSysctl& a) { return a.value; },
               [](const act::KernelParam& a) { return std::string(ParamStateName(a.state)); },
               [](const act::UpdateBootloader&) { return std::string(); },
               [](const act::RequestReboot&) { return std::string(); },
               [](const act::KeepOnHost& a) { return a.driver; },
               [](const act::Restore& a) { return a.original_driver; }},
      payload);
}

}  // namespace gpuhost::plan
