#include "plan/policy.h"

#include <cctype>
#include <nlohmann/json.hpp>
#include <set>

#include "base/fileio.h"
#include "base/strings.h"

namespace gpuhost::plan {
namespace {

using nlohmann::json;

// Semantic errors carry no byte offset from the parser: point at the first
// place the offending key or value is spelled, which is right for the
// usual one-off typo and says "line ?" rather than guess when it is absent.
class Errors {
 public:
  Errors(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  Status At(const std::string& needle, const std::string& msg) const {
    size_t pos = needle.empty() ? std::string_view::npos : text_.find(needle);
    return Status::Invalid(Where(pos) + msg);
  }
  std::string Where(size_t pos) const {
    if (pos == std::string_view::npos || pos > text_.size()) return source_ + ": ";
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos; ++i) {
      if (text_[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return source_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  }

 private:
  std::string_view text_;
  std::string source_;
};

Status CheckKeys(const Errors& e, const json& obj, const std::string& path,
                 const std::set<std::string>& allowed) {
  if (!obj.is_object()) return e.At("", path + " must be an object");
  for (const auto& [k, v] : obj.items()) {
    if (allowed.count(k) == 0) {
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return e.At("\"" + k + "\"",
                  "unknown key '" + k + "' in " + path + " (known: " + known + ")");
    }
  }
  return Status::Ok();
}

// Kernel parameters end up on a command line and in bootloader files:
// accept only plain tokens, and refuse the values known to be wrong.
Status CheckKernelParam(const Errors& e, const std::string& p) {
  if (p.empty()) return e.At("\"\"", "kernel_params: empty parameter");
  for (char c : p) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) ||
              std::string_view("_-.,:=/+").find(c) != std::string_view::npos;
    if (!ok) {
      return e.At("\"" + p + "\"", "kernel_params: '" + p +
                                       "' has a character other than letters, digits and _-.,:=/+");
    }
  }
  if (p == "amd_iommu=on") {
    return e.At("\"" + p + "\"",
                "kernel_params: 'amd_iommu=on' is not a valid value (the AMD IOMMU is on by "
                "default; the kernel logs 'Unknown option'); remove it");
  }
  if (StartsWith(p, "vfio-pci.ids=") || StartsWith(p, "vfio_pci.ids=")) {
    return e.At("\"" + p + "\"",
                "kernel_params: vfio-pci.ids= captures every GPU with that vendor:device, host "
                "GPUs of the same model too; choose GPUs with 'gpus' rules instead");
  }
  return Status::Ok();
}

Result<GpuMatch> ParseMatch(const Errors& e, const json& m, const std::string& path) {
  if (Status s =
          CheckKeys(e, m, path, {"address", "vendor_device", "vendor", "boot_vga", "numa_node"});
      !s.ok()) {
    return s;
  }
  GpuMatch out;
  if (m.contains("address")) {
    const json& v = m["address"];
    auto a = v.is_string() ? PciAddress::Parse(v.get<std::string>()) : std::nullopt;
    if (!a)
      return e.At("\"address\"", path + ".address must be a PCI address like \"0000:65:00.0\"");
    out.address = a;
  }
  if (m.contains("vendor_device")) {
    const json& v = m["vendor_device"];
    auto parts = v.is_string() ? Split(v.get<std::string>(), ':') : std::vector<std::string>{};
    std::optional<uint64_t> ven, dev;
    if (parts.size() == 2 && parts[0].size() == 4 && parts[1].size() == 4) {
      ven = ParseHex(parts[0]);
      dev = ParseHex(parts[1]);
    }
    if (!ven || !dev) {
      return e.At("\"vendor_device\"", path + ".vendor_device must look like \"10de:2330\"");
    }
    out.vendor = static_cast<uint16_t>(*ven);
    out.device = static_cast<uint16_t>(*dev);
  }
  if (m.contains("vendor")) {
    const json& v = m["vendor"];
    auto ven = v.is_string() && v.get<std::string>().size() == 4 ? ParseHex(v.get<std::string>())
                                                                 : std::nullopt;
    if (!ven) return e.At("\"vendor\"", path + ".vendor must look like \"10de\"");
    if (out.vendor && *out.vendor != *ven) {
      return e.At("\"vendor\"", path + ": vendor and vendor_device disagree");
    }
    out.vendor = static_cast<uint16_t>(*ven);
  }
  if (m.contains("boot_vga")) {
    if (!m["boot_vga"].is_boolean())
      return e.At("\"boot_vga\"", path + ".boot_vga must be true or false");
    out.boot_vga = m["boot_vga"].get<bool>();
  }
  if (m.contains("numa_node")) {
    const json& v = m["numa_node"];
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 4095) {
      return e.At("\"numa_node\"", path + ".numa_node must be a node number (0, 1, ...)");
    }
    out.numa_node = v.get<int>();
  }
  return out;
}

// Parses a list of rules ("gpus" or "devices").
Status ParseRules(const Errors& e, const json& j, const char* key, std::vector<GpuRule>* out) {
  if (!j.contains(key)) return Status::Ok();
  if (!j[key].is_array())
    return e.At(std::string("\"") + key + "\"", std::string(key) + " must be a list of rules");
  for (size_t i = 0; i < j[key].size(); ++i) {
    const json& r = j[key][i];
    std::string path = std::string(key) + "[" + std::to_string(i) + "]";
    if (Status s = CheckKeys(e, r, path, {"match", "assign", "comment"}); !s.ok()) return s;
    if (!r.contains("match") || !r.contains("assign")) {
      return e.At("", path + " needs both \"match\" and \"assign\"");
    }
    auto m = ParseMatch(e, r["match"], path + ".match");
    if (!m.ok()) return m.status();
    GpuRule rule;
    rule.match = *m;
    std::string assign = r["assign"].is_string() ? r["assign"].get<std::string>() : "";
    if (assign == "vfio") {
      rule.assign = Assignment::kVfio;
    } else if (assign != "host") {
      return e.At("\"assign\"", path + ".assign must be \"host\" or \"vfio\"");
    }
    rule.name = "policy " + path;
    if (r.contains("comment") && r["comment"].is_string()) {
      rule.name += " (" + r["comment"].get<std::string>() + ")";
    }
    out->push_back(std::move(rule));
  }
  return Status::Ok();
}

Result<Policy> ParseTree(const Errors& e, const json& j, const std::string& source) {
  Policy p;
  p.source = source;
  if (Status s = CheckKeys(e, j, "the policy",
                           {"gpus", "devices", "kernel_params", "hugepages", "hardening",
                            "status_page", "reboot", "comment"});
      !s.ok()) {
    return s;
  }
  if (Status s = ParseRules(e, j, "gpus", &p.gpus); !s.ok()) return s;
  if (Status s = ParseRules(e, j, "devices", &p.devices); !s.ok()) return s;
  if (j.contains("kernel_params")) {
    const json& k = j["kernel_params"];
    if (!k.is_array()) return e.At("\"kernel_params\"", "kernel_params must be a list of strings");
    for (const auto& v : k) {
      if (!v.is_string())
        return e.At("\"kernel_params\"", "kernel_params must be a list of strings");
      if (Status s = CheckKernelParam(e, v.get<std::string>()); !s.ok()) return s;
      p.kernel_params.push_back(v.get<std::string>());
    }
  }
  if (j.contains("hugepages")) {
    const json& h = j["hugepages"];
    if (Status s = CheckKeys(e, h, "hugepages", {"size", "count"}); !s.ok()) return s;
    std::string size = h.value("size", "2M");
    if (size == "2M") {
      p.hugepage_size_kib = 2048;
    } else if (size == "1G") {
      p.hugepage_size_kib = 1048576;
    } else {
      return e.At("\"size\"", "hugepages.size must be \"2M\" or \"1G\"");
    }
    if (!h.contains("count") || !h["count"].is_number_unsigned()) {
      return e.At("\"count\"", "hugepages.count must be a non-negative integer");
    }
    p.hugepages = h["count"].get<uint64_t>();
  }
  if (j.contains("hardening")) {
    std::string h = j["hardening"].is_string() ? j["hardening"].get<std::string>() : "";
    if (h == "off") {
      p.hardening = Hardening::kOff;
    } else if (h == "baseline") {
      p.hardening = Hardening::kBaseline;
    } else if (h == "strict") {
      p.hardening = Hardening::kStrict;
    } else {
      return e.At("\"hardening\"", "hardening must be \"off\", \"baseline\" or \"strict\"");
    }
  }
  if (j.contains("status_page")) {
    const json& sp = j["status_page"];
    if (Status s = CheckKeys(e, sp, "status_page", {"listen"}); !s.ok()) return s;
    if (sp.contains("listen")) {
      if (!sp["listen"].is_array() || sp["listen"].empty()) {
        return e.At("\"listen\"", "status_page.listen must be a non-empty list of \"ADDR:PORT\"");
      }
      p.listen.clear();
      for (const auto& v : sp["listen"]) {
        if (!v.is_string()) return e.At("\"listen\"", "status_page.listen entries must be strings");
        p.listen.push_back(v.get<std::string>());
      }
    }
  }
  if (j.contains("reboot")) {
    std::string r = j["reboot"].is_string() ? j["reboot"].get<std::string>() : "";
    if (r == "when-needed") {
      p.reboot_when_needed = true;
    } else if (r != "never") {
      return e.At("\"reboot\"", "reboot must be \"never\" or \"when-needed\"");
    }
  }
  return p;
}

}  // namespace

const char* HardeningName(Hardening h) {
  switch (h) {
    case Hardening::kOff:
      return "off";
    case Hardening::kStrict:
      return "strict";
    case Hardening::kBaseline:
      break;
  }
  return "baseline";
}

Result<Policy> ParsePolicy(std::string_view text, const std::string& source) {
  Errors e(text, source);
  json j;
  try {
    j = json::parse(text);
  } catch (const json::parse_error& err) {
    // err.byte is one past the offending character.
    size_t pos = err.byte > 0 ? err.byte - 1 : 0;
    std::string what = err.what();
    size_t cut = what.find("syntax error");
    return Status::Invalid(
        e.Where(pos) + "not valid JSON: " + (cut == std::string::npos ? what : what.substr(cut)));
  }
  return ParseTree(e, j, source);
}

Result<Policy> LoadPolicy(const Fs& fs, const std::string& explicit_path,
                          const std::string& credentials_dir) {
  if (!explicit_path.empty()) {
    auto text = ReadFileAt(explicit_path, 1 << 20);
    if (!text.ok()) return text.status();
    return ParsePolicy(*text, explicit_path);
  }
  if (!credentials_dir.empty()) {
    std::string cred = credentials_dir + "/gpuhost.policy";
    auto text = ReadFileAt(cred, 1 << 20);
    if (text.ok()) return ParsePolicy(*text, "credential gpuhost.policy");
    if (!text.status().IsNotFound()) return text.status();
  }
  auto text = fs.Read("/etc/gpuhost/policy.json");
  if (text.ok()) return ParsePolicy(*text, "/etc/gpuhost/policy.json");
  if (!text.status().IsNotFound()) return text.status();
  return Policy();
}

}  // namespace gpuhost::plan
