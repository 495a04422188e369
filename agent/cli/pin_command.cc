// gpuhost-agent pin-vfio: apply/pin_vfio.h at every boot, from
// gpuhost-vfio-pin.service before systemd-udev-trigger.service. Exit 0 when
// every function in the agent's udev rules that is present was pinned or rightly left alone; 1 when
// the list is unreadable or invalid (nothing pinned) or an override could
// not be written. Either way udev's rule and apply still run after it.
#include <cstdio>

#include "apply/pin_vfio.h"
#include "cli/commands.h"
#include "host/fs.h"
#include "plan/config_files.h"

namespace gpuhost::cli {

int RunPinVfio(const Args& args) {
  constexpr const char* kCmd = "pin-vfio";
  RootFs fs(args.Get("root", "/"));
  const std::string file = plan::kUdevRules;
  auto text = fs.Read(file);
  if (!text.ok()) {
    if (text.status().code() == Status::Code::kNotFound) {
      std::printf("%s: absent: no apply has written it yet\n", file.c_str());
      return 0;
    }
    Err(kCmd, file + ": " + text.status().ToString() + "; nothing pinned");
    return 1;
  }
  auto functions = apply::ParseVfioRules(*text, file);
  if (!functions.ok()) {
    Err(kCmd, functions.status().message());
    return 1;
  }
  int failed = 0;
  for (const auto& r : apply::PinVfio(fs, *functions)) {
    std::printf("%s: %s\n", r.address.c_str(), r.message.c_str());
    if (r.failed) failed++;
  }
  if (functions->empty()) std::printf("%s lists no function\n", file.c_str());
  return failed == 0 ? 0 : 1;
}

}  // namespace gpuhost::cli
