// Kernel modules through libkmod, the way modprobe does it: dependencies,
// blacklists, options and Debian's `install` lines are honoured.
#pragma once

#include <string>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost {

class ModuleLoader {
 public:
  virtual ~ModuleLoader() = default;
  // Loads `name` (a module name or alias) and its dependencies with extra
  // `options`. NotFound when no such module exists for the running kernel;
  // Ok when it is already loaded or built in.
  virtual Status Load(const std::string& name, const std::string& options) = 0;
};

// The running kernel's modules (/lib/modules/$(uname -r), /etc/modprobe.d).
class KmodLoader : public ModuleLoader {
 public:
  Status Load(const std::string& name, const std::string& options) override;
};

// For --root trees (a fixture or an image being built): modules are looked
// up in ROOT/lib/modules/RELEASE but never inserted into the running
// kernel. Load() answers Unsupported ("not the running system") when the
// module exists and NotFound when it does not.
class OfflineModuleLoader : public ModuleLoader {
 public:
  OfflineModuleLoader(const Fs& fs, std::string kernel_release)
      : fs_(fs), release_(std::move(kernel_release)) {}
  Status Load(const std::string& name, const std::string& options) override;

 private:
  const Fs& fs_;
  std::string release_;
};

}  // namespace gpuhost
