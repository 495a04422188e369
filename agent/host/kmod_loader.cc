#include <libkmod.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "host/modprobe_copy.h"
#include "host/modules.h"

namespace gpuhost {
namespace {

// Debian's `install` lines (nvidia.conf maps nvidia to nvidia-current) run
// through this callback instead of libkmod's default system(3), so their
// exit status comes back as an error we can report.
int RunInstall(struct kmod_module*, const char* cmdline, void*) {
  int st = std::system(cmdline);
  return st == 0 ? 0 : -EIO;
}

class KmodContext {
 public:
  KmodContext(const char* dirname, const char* const* config) : ctx_(kmod_new(dirname, config)) {
    if (ctx_ != nullptr) kmod_load_resources(ctx_);
  }
  ~KmodContext() {
    if (ctx_ != nullptr) kmod_unref(ctx_);
  }
  KmodContext(const KmodContext&) = delete;
  KmodContext& operator=(const KmodContext&) = delete;
  kmod_ctx* get() const { return ctx_; }

 private:
  kmod_ctx* ctx_;
};

class ModuleList {
 public:
  ModuleList() = default;
  ~ModuleList() {
    if (list_ != nullptr) kmod_module_unref_list(list_);
  }
  ModuleList(const ModuleList&) = delete;
  ModuleList& operator=(const ModuleList&) = delete;
  kmod_list** out() { return &list_; }
  kmod_list* get() const { return list_; }

 private:
  kmod_list* list_ = nullptr;
};

}  // namespace

Status KmodLoader::Load(const std::string& name, const std::string& options) {
  KmodContext ctx(nullptr, nullptr);
  if (ctx.get() == nullptr) return Status::Io("libkmod: cannot create a context");
  ModuleList list;
  int err = kmod_module_new_from_lookup(ctx.get(), name.c_str(), list.out());
  if (err < 0) return Status::FromErrno("libkmod lookup " + name, -err);
  if (list.get() == nullptr) {
    return Status::NotFound("module " + name + " is not installed for the running kernel");
  }
  kmod_list* it = nullptr;
  Status last = Status::NotFound("module " + name + " is not installed");
  kmod_list_foreach(it, list.get()) {
    kmod_module* mod = kmod_module_get_module(it);
    // modprobe's rule: a blacklist stops loads through an alias (udev's), not a load by name.
    // The nvidia image blacklists nvidia so udev leaves GPUs alone until the agent has bound
    // the vfio ones; the agent then loads it by name (overlays/nvidia, docs/nvidia.md).
    err = kmod_module_probe_insert_module(
        mod, KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY | KMOD_PROBE_IGNORE_LOADED,
        options.empty() ? nullptr : options.c_str(), RunInstall, nullptr, nullptr);
    std::string modname = kmod_module_get_name(mod);
    kmod_module_unref(mod);
    if (err == 0) return Status::Ok();
    if (err == KMOD_PROBE_APPLY_BLACKLIST_ALIAS_ONLY) {
      last = Status::Unsupported("module " + modname + " is blacklisted");
    } else {
      last = Status::FromErrno("insert module " + modname, -err);
    }
  }
  return last;
}

Status OfflineModuleLoader::Load(const std::string& name, const std::string&) {
  if (!fs_.IsDir("/lib/modules/" + release_)) {
    return Status::Unsupported("no /lib/modules/" + release_ +
                               " under the root: modules not checked (--root is not the "
                               "running system)");
  }
  // The tree's links resolve inside it, for libkmod too (host/modprobe_copy.h).
  std::string dir = fs_.HostPath(ResolveInTree(fs_, "/lib/modules/" + release_));
  ModprobeConfigCopy copy(fs_);
  std::vector<const char*> config;
  for (const auto& d : copy.dirs()) config.push_back(d.c_str());
  config.push_back(nullptr);
  KmodContext ctx(dir.c_str(), config.data());
  if (ctx.get() == nullptr) return Status::Io("libkmod: cannot open " + dir);
  ModuleList list;
  int err = kmod_module_new_from_lookup(ctx.get(), name.c_str(), list.out());
  if (err < 0 || list.get() == nullptr) {
    return Status::NotFound("module " + name + " not found in /lib/modules/" + release_);
  }
  return Status::Unsupported("module " + name +
                             " found; not loaded: --root is not the running system");
}

}  // namespace gpuhost
