#include "plan/model.h"

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

}  // namespace gpuhost::plan
