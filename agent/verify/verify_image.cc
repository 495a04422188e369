#include "verify/verify_image.h"

#include <fcntl.h>
#include <libkmod.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <set>

#include "base/strings.h"
#include "host/modprobe_copy.h"

namespace gpuhost::verify {
namespace {

// libkmod reports configuration it cannot parse through its log function.
// format(printf): `format` is libkmod's printf format (clang's -Wformat-nonliteral).
__attribute__((format(printf, 6, 0))) void CaptureLog(void* data, int priority, const char* file,
                                                      int line, const char* fn, const char* format,
                                                      va_list args) {
  if (priority > 3) return;  // LOG_ERR and worse only
  char buf[512];
  std::vsnprintf(buf, sizeof buf, format, args);
  auto* out = static_cast<std::vector<std::string>*>(data);
  out->push_back(std::string(buf));
  (void)file;
  (void)line;
  (void)fn;
}

// libkmod parses modprobe.d inside kmod_new(), before a log function can be
// set, and reports a bad line through its default logger on stderr. To judge
// the configuration, stderr is a temporary file for that one call; what
// libkmod said is returned and passed on to the real stderr.
class StderrCapture {
 public:
  StderrCapture() {
    std::fflush(stderr);
    saved_ = dup(STDERR_FILENO);
    FILE* tmp = std::tmpfile();
    if (saved_ < 0 || tmp == nullptr) return;
    tmp_ = tmp;
    dup2(fileno(tmp_), STDERR_FILENO);
  }
  std::string Finish() {
    std::string text;
    std::fflush(stderr);
    if (tmp_ != nullptr) {
      dup2(saved_, STDERR_FILENO);
      std::rewind(tmp_);
      char buf[512];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, tmp_)) > 0) text.append(buf, n);
      std::fclose(tmp_);
      tmp_ = nullptr;
      std::fputs(text.c_str(), stderr);
    }
    if (saved_ >= 0) close(saved_);
    saved_ = -1;
    return text;
  }
  ~StderrCapture() { Finish(); }

 private:
  int saved_ = -1;
  FILE* tmp_ = nullptr;
};

std::string ModuleName(std::string path) {
  path = path.substr(path.rfind('/') + 1);
  path = path.substr(0, path.find(".ko"));
  for (char& c : path) c = c == '-' ? '_' : c;
  return path;
}

class Checker {
 public:
  Checker(const Fs& fs, std::string release, const ModuleSigner* signer)
      : fs_(fs), release_(std::move(release)), signer_(signer) {}

  ImageReport Run(bool nvidia) {
    ImageReport rep;
    rep.kernel_release = release_;
    std::string dir = fs_.HostPath(ResolveInTree(fs_, "/usr/lib/modules/" + release_));
    ModprobeConfigCopy config(fs_);
    if (!config.error().ok()) {
      rep.findings.push_back({"modprobe configuration", false,
                              "cannot copy it for libkmod: " + config.error().ToString()});
      return rep;
    }
    std::vector<const char*> cfg;
    for (auto& c : config.dirs()) cfg.push_back(c.c_str());
    cfg.push_back(nullptr);
    std::vector<std::string> log;
    StderrCapture capture;
    kmod_ctx* ctx = kmod_new(dir.c_str(), cfg.data());
    for (const auto& line : Split(capture.Finish(), '\n')) {
      if (!line.empty()) log.push_back(config.InImage(line));
    }
    if (ctx == nullptr) {
      rep.findings.push_back({"kernel modules", false, "libkmod cannot open " + dir});
      return rep;
    }
    kmod_set_log_fn(ctx, CaptureLog, &log);
    int loaded = kmod_load_resources(ctx);
    rep.findings.push_back({"module indexes (modules.dep.bin)", loaded == 0,
                            loaded == 0 ? "/usr/lib/modules/" + release_
                                        : "missing or unreadable: run depmod for " + release_});
    ReadBuiltin();
    std::vector<std::string> wanted = {"vfio",      "vfio_iommu_type1", "vfio_pci", "kvm",
                                       "kvm_intel", "kvm_amd",          "vhost_net"};
    // The NVIDIA family when asked for, or when the image carries the driver
    // (DKMS-built modules or Debian's nvidia.conf): a half-installed driver
    // is a gap, not an image without NVIDIA support.
    std::string found = NvidiaDriverIn();
    if (!nvidia && !found.empty()) {
      rep.findings.push_back({"NVIDIA driver", true, found + ": NVIDIA modules required"});
      nvidia = true;
    }
    if (nvidia) {
      for (const char* n : {"nvidia", "nvidia_modeset", "nvidia_drm", "nvidia_uvm"})
        wanted.push_back(n);
    }
    for (const auto& name : wanted) CheckModule(ctx, name, 0, true, &rep);
    rep.findings.push_back({"modprobe configuration", log.empty(),
                            log.empty() ? "parses" : "libkmod: " + config.InImage(log[0])});
    kmod_unref(ctx);
    return rep;
  }

 private:
  void ReadBuiltin() {
    auto text = fs_.Read("/usr/lib/modules/" + release_ + "/modules.builtin");
    if (!text.ok()) return;
    for (const auto& line : Split(*text, '\n')) {
      if (!line.empty()) builtin_.insert(ModuleName(line));
    }
  }

  // What shows that the image has the NVIDIA driver: "" when nothing does.
  std::string NvidiaDriverIn() const {
    std::string updates = "/usr/lib/modules/" + release_ + "/updates/dkms";
    if (auto files = fs_.List(updates); files.ok()) {
      for (const auto& f : *files) {
        if (StartsWith(f, "nvidia")) return updates + "/" + f;
      }
    }
    for (const char* conf : {"/etc/modprobe.d/nvidia.conf", "/usr/lib/modprobe.d/nvidia.conf"}) {
      if (fs_.Exists(conf)) return conf;
    }
    return "";
  }

  bool FirmwareExists(const std::string& fw) const {
    for (const char* base : {"/usr/lib/firmware/", "/lib/firmware/"}) {
      for (const char* ext : {"", ".xz", ".zst"}) {
        if (fs_.Exists(base + fw + ext)) return true;
      }
    }
    return false;
  }

  // `needed`: a module the agent loads (or the file an install line maps it
  // to), whose firmware is required; false for dependencies, whose firmware
  // may only serve an optional feature.
  void CheckModule(kmod_ctx* ctx, const std::string& name, int depth, bool needed,
                   ImageReport* rep) {
    if (depth > 3 || !seen_.insert(name).second) return;
    std::string what = "module " + name;
    if (builtin_.count(name) != 0) {
      rep->findings.push_back({what, true, "built into the kernel"});
      return;
    }
    kmod_list* list = nullptr;
    if (kmod_module_new_from_lookup(ctx, name.c_str(), &list) < 0 || list == nullptr) {
      rep->findings.push_back({what, false, "not found for kernel " + release_});
      return;
    }
    kmod_module* mod = kmod_module_get_module(list);
    kmod_module_unref_list(list);
    const char* path = kmod_module_get_path(mod);
    const char* install = kmod_module_get_install_commands(mod);
    if (path == nullptr && install != nullptr) {
      // Debian's nvidia.conf: "install nvidia modprobe -i nvidia-current ...".
      auto words = Split(std::string(install), ' ');
      std::string target;
      for (size_t i = 0; i + 1 < words.size(); ++i) {
        if (words[i] == "-i") target = words[i + 1];
      }
      rep->findings.push_back({what, !target.empty(), "install line: " + std::string(install)});
      if (!target.empty()) CheckModule(ctx, ModuleName(target), depth + 1, needed, rep);
      kmod_module_unref(mod);
      return;
    }
    if (path == nullptr) {
      rep->findings.push_back({what, false, "no module file for kernel " + release_});
      kmod_module_unref(mod);
      return;
    }
    std::string rel = path;
    std::string root = fs_.HostPath("/");
    if (!root.empty() && rel.rfind(root, 0) == 0) rel = rel.substr(root.size() - 1);
    bool file_ok = fs_.Exists(rel);
    rep->findings.push_back({what, file_ok, rel});
    if (signer_ != nullptr && rel.find("/updates/") != std::string::npos) {
      CheckSignature(mod, name, rep);
    }
    kmod_list* deps = kmod_module_get_dependencies(mod);
    kmod_list* it = nullptr;
    kmod_list_foreach(it, deps) {
      kmod_module* dep = kmod_module_get_module(it);
      CheckModule(ctx, kmod_module_get_name(dep), depth + 1, false, rep);
      kmod_module_unref(dep);
    }
    kmod_module_unref_list(deps);
    kmod_list* info = nullptr;
    if (kmod_module_get_info(mod, &info) >= 0) {
      kmod_list_foreach(it, info) {
        if (std::string(kmod_module_info_get_key(it)) != "firmware") continue;
        std::string fw = kmod_module_info_get_value(it);
        bool found = FirmwareExists(fw);
        // Firmware of a module the agent loads is required; firmware a
        // dependency declares (ccp's SEV images under kvm_amd) is optional.
        rep->findings.push_back({"firmware " + fw + " (" + name + ")", found,
                                 found ? "present"
                                       : std::string("missing under /usr/lib/firmware") +
                                             (needed ? "" : " (a dependency's optional feature)"),
                                 !needed});
      }
      kmod_module_info_free_list(info);
    }
    kmod_module_unref(mod);
  }

  // The module's signature must be the image key's: modinfo's signer (the
  // certificate's CN) and sig_key (its serial number).
  void CheckSignature(kmod_module* mod, const std::string& name, ImageReport* rep) {
    std::string signer, key;
    kmod_list* info = nullptr;
    if (kmod_module_get_info(mod, &info) >= 0) {
      kmod_list* it = nullptr;
      kmod_list_foreach(it, info) {
        std::string k = kmod_module_info_get_key(it);
        const char* v = kmod_module_info_get_value(it);
        if (k == "signer" && v != nullptr) signer = v;
        if (k == "sig_key" && v != nullptr) key = v;
      }
      kmod_module_info_free_list(info);
    }
    std::string what = "signature of " + name;
    if (signer.empty()) {
      rep->findings.push_back({what, false, "unsigned; wanted '" + signer_->name + "'"});
    } else if (signer != signer_->name || !SameSerial(key, signer_->serial)) {
      rep->findings.push_back({what, false,
                               "signed by '" + signer + "' (key " + key + "), not '" +
                                   signer_->name + "' (key " + signer_->serial + ")"});
    } else {
      rep->findings.push_back({what, true, "signed by '" + signer + "' (key " + key + ")"});
    }
  }

  const Fs& fs_;
  std::string release_;
  const ModuleSigner* signer_;
  std::set<std::string> builtin_;
  std::set<std::string> seen_;
};

}  // namespace

bool ImageReport::ok() const {
  for (const auto& f : findings) {
    if (!f.ok && !f.optional) return false;
  }
  return !findings.empty();
}

ImageReport VerifyImage(const Fs& fs, bool nvidia, const ModuleSigner* signer) {
  auto releases = fs.List("/usr/lib/modules");
  if (!releases.ok() || releases->empty()) {
    ImageReport rep;
    rep.findings.push_back({"kernel", false, "no /usr/lib/modules/RELEASE in the tree"});
    return rep;
  }
  if (releases->size() > 1) {
    ImageReport rep;
    std::string all;
    for (const auto& r : *releases) all += " " + r;
    rep.findings.push_back({"kernel", false, "more than one kernel in the tree:" + all});
    return rep;
  }
  return Checker(fs, releases->front(), signer).Run(nvidia);
}

}  // namespace gpuhost::verify
