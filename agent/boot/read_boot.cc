#include "boot/read_boot.h"

#include "boot/efivar.h"
#include "boot/os_release.h"

namespace gpuhost::boot {

BootFacts ReadBootFacts(const Fs& fs, const std::string& state_dir) {
  BootFacts f;
  if (auto os = ReadOsRelease(fs); os.ok()) {
    f.image_id = os->image_id;
    f.running_version = os->image_version;
  }
  for (const char* esp : kEspCandidates) {
    std::string dir = std::string(esp) + "/EFI/Linux";
    if (!fs.IsDir(dir)) continue;
    f.esp = esp;
    for (const auto& name : fs.List(dir).value_or({})) {
      if (auto u = ParseUkiName(name, f.image_id)) f.ukis.push_back(std::move(*u));
    }
    break;
  }
  f.boot_count_path = ReadLoaderVariable(fs, "LoaderBootCountPath").value_or("");
  f.entry = ReadLoaderVariable(fs, "LoaderEntrySelected").value_or("");
  f.verdicts = ReadVerdicts(fs, state_dir).value_or({});
  return f;
}

BootState ReadBootState(const Fs& fs, const std::string& state_dir) {
  return Judge(ReadBootFacts(fs, state_dir));
}

}  // namespace gpuhost::boot
