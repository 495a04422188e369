#include "plan/policy.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "base/strings.h"
#include "fleet/update_source.h"
#include "fleet/url_template.h"
#include "plan/policy_json.h"
#include "plan/policy_values.h"

namespace gpuhost::plan {
namespace {

using nlohmann::json;

std::string Join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

std::string Index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

// What a value is, for "must be X, not Y".
std::string Kind(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case json::value_t::string:
      return "\"" + Printable(v.get<std::string>()) + "\"";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float:
      return "a number";
    case json::value_t::array:
      return v.empty() ? "an empty list" : "a list";
    case json::value_t::object:
      return "an object";
    default:
      return "not a JSON value";
  }
}

// Reads a placed document. Every accessor checks the type before it reads, so
// nothing here throws; errors point at the value (or the key) they are about.
class Reader {
 public:
  Reader(const SourceText& src, const PlacedJson& doc) : src_(src), doc_(doc) {}

  // "policy.json:4:23: " for the value at path.
  std::string WhereValue(const std::string& path) const {
    auto it = doc_.value_at.find(path);
    return src_.Where(it == doc_.value_at.end() ? std::string::npos : it->second);
  }
  Status AtValue(const std::string& path, const std::string& msg) const {
    return Status::Invalid(WhereValue(path) + msg);
  }
  Status AtKey(const std::string& path, const std::string& msg) const {
    auto it = doc_.key_at.find(path);
    if (it == doc_.key_at.end()) return AtValue(path, msg);
    return Status::Invalid(src_.Where(it->second) + msg);
  }
  Status WrongType(const std::string& path, const json& v, const std::string& want) const {
    return AtValue(path,
                   (path.empty() ? "the policy" : path) + " must be " + want + ", not " + Kind(v));
  }

  // An object whose keys are all in `allowed`.
  Status Object(const json& obj, const std::string& path,
                const std::set<std::string>& allowed) const {
    if (!obj.is_object()) return WrongType(path, obj, "an object");
    for (const auto& [k, v] : obj.items()) {
      if (allowed.count(k) != 0) continue;
      std::string known;
      for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
      return AtKey(Join(path, Printable(k)), "unknown key '" + Printable(k) + "' in " +
                                                 (path.empty() ? "the policy" : path) +
                                                 " (known: " + known + ")");
    }
    return Status::Ok();
  }

  Result<std::string> String(const json& v, const std::string& path,
                             const std::string& want = "a string") const {
    if (!v.is_string()) return WrongType(path, v, want);
    return v.get<std::string>();
  }

  // One of `names` (a string), as its index.
  Result<size_t> OneOf(const json& v, const std::string& path,
                       const std::vector<std::string>& names) const {
    std::string want;
    for (size_t i = 0; i < names.size(); ++i) {
      want += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + ("\"" + names[i] + "\"");
    }
    if (v.is_string()) {
      for (size_t i = 0; i < names.size(); ++i) {
        if (v.get<std::string>() == names[i]) return i;
      }
    }
    return WrongType(path, v, want);
  }

 private:
  const SourceText& src_;
  const PlacedJson& doc_;
};

// A 4-digit hex id, part of `whole` (the value as written, for the message).
Result<uint16_t> HexId(const Reader& r, const std::string& s, const std::string& whole,
                       const std::string& path, const char* example) {
  bool digits = s.size() == 4 && std::all_of(s.begin(), s.end(), [](char c) {
                  return std::isxdigit(static_cast<unsigned char>(c)) != 0;
                });
  auto v = digits ? ParseHex(s) : std::nullopt;
  if (!v) {
    return r.AtValue(
        path, path + " must look like \"" + example + "\", not \"" + Printable(whole) + "\"");
  }
  return static_cast<uint16_t>(*v);
}

Result<GpuMatch> ParseMatch(const Reader& r, const json& m, const std::string& path) {
  if (Status s = r.Object(m, path, {"address", "vendor_device", "vendor", "boot_vga", "numa_node"});
      !s.ok()) {
    return s;
  }
  GpuMatch out;
  if (m.contains("address")) {
    std::string p = Join(path, "address");
    auto text = r.String(m.at("address"), p, "a PCI address like \"0000:65:00.0\"");
    if (!text.ok()) return text.status();
    out.address = PciAddress::Parse(*text);
    if (!out.address) {
      return r.AtValue(
          p, p + " must be a PCI address like \"0000:65:00.0\", not \"" + Printable(*text) + "\"");
    }
  }
  if (m.contains("vendor_device")) {
    std::string p = Join(path, "vendor_device");
    auto text = r.String(m.at("vendor_device"), p, "a string like \"10de:2330\"");
    if (!text.ok()) return text.status();
    auto parts = Split(*text, ':');
    if (parts.size() != 2) {
      return r.AtValue(p, p + " must look like \"10de:2330\", not \"" + Printable(*text) + "\"");
    }
    auto ven = HexId(r, parts[0], *text, p, "10de:2330");
    auto dev = HexId(r, parts[1], *text, p, "10de:2330");
    if (!ven.ok()) return ven.status();
    if (!dev.ok()) return dev.status();
    out.vendor = *ven;
    out.device = *dev;
  }
  if (m.contains("vendor")) {
    std::string p = Join(path, "vendor");
    auto text = r.String(m.at("vendor"), p, "a string like \"10de\"");
    if (!text.ok()) return text.status();
    auto ven = HexId(r, *text, *text, p, "10de");
    if (!ven.ok()) return ven.status();
    if (out.vendor && *out.vendor != *ven) {
      return r.AtValue(p, path + ": vendor and vendor_device disagree");
    }
    out.vendor = *ven;
  }
  if (m.contains("boot_vga")) {
    const json& v = m.at("boot_vga");
    if (!v.is_boolean()) return r.WrongType(Join(path, "boot_vga"), v, "true or false");
    out.boot_vga = v.get<bool>();
  }
  if (m.contains("numa_node")) {
    const json& v = m.at("numa_node");
    if (!v.is_number_unsigned() || v.get<uint64_t>() > 4095) {
      return r.WrongType(Join(path, "numa_node"), v, "a node number (0, 1, ...)");
    }
    out.numa_node = static_cast<int>(v.get<uint64_t>());
  }
  return out;
}

Result<GpuRule> ParseRule(const Reader& r, const json& rule, const std::string& path) {
  if (Status s = r.Object(rule, path, {"match", "assign", "comment"}); !s.ok()) return s;
  if (!rule.contains("match") || !rule.contains("assign")) {
    return r.AtValue(path, path + " needs both \"match\" and \"assign\"");
  }
  auto m = ParseMatch(r, rule.at("match"), path + ".match");
  if (!m.ok()) return m.status();
  GpuRule out;
  out.match = *m;
  auto assign = r.OneOf(rule.at("assign"), path + ".assign", {"host", "vfio"});
  if (!assign.ok()) return assign.status();
  out.assign = *assign == 1 ? Assignment::kVfio : Assignment::kHost;
  out.name = "policy " + path;
  if (rule.contains("comment")) {
    auto c = r.String(rule.at("comment"), path + ".comment");
    if (!c.ok()) return c.status();
    out.name += " (" + Printable(*c) + ")";
  }
  return out;
}

// A list of rules ("gpus" or "devices").
Status ParseRules(const Reader& r, const json& top, const char* key, std::vector<GpuRule>* out) {
  if (!top.contains(key)) return Status::Ok();
  const json& list = top.at(key);
  if (!list.is_array()) return r.WrongType(key, list, "a list of rules");
  for (size_t i = 0; i < list.size(); ++i) {
    auto rule = ParseRule(r, list.at(i), Index(key, i));
    if (!rule.ok()) return rule.status();
    out->push_back(std::move(*rule));
  }
  return Status::Ok();
}

Status ParseKernelParams(const Reader& r, const json& k, Policy* p) {
  if (!k.is_array()) return r.WrongType("kernel_params", k, "a list of strings");
  for (size_t i = 0; i < k.size(); ++i) {
    std::string path = Index("kernel_params", i);
    auto param = r.String(k.at(i), path);
    if (!param.ok()) return param.status();
    // Parameters end up on a command line and in bootloader files: plain
    // tokens only.
    if (param->empty()) return r.AtValue(path, path + ": empty parameter");
    for (char c : *param) {
      bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                std::string_view("_-.,:=/+").find(c) != std::string_view::npos;
      if (!ok) {
        return r.AtValue(path, path + ": '" + Printable(*param) +
                                   "' has a character other than letters, digits and _-.,:=/+");
      }
    }
    if (auto why = RefuseKernelParam(*param)) {
      return r.AtValue(path, path + ": '" + *param + "' is refused: " + *why);
    }
    p->kernel_params.push_back(*param);
  }
  return Status::Ok();
}

Status ParseHugepages(const Reader& r, const json& h, Policy* p) {
  if (Status s = r.Object(h, "hugepages", {"size", "count"}); !s.ok()) return s;
  p->hugepage_size_kib = 2048;
  if (h.contains("size")) {
    auto size = r.OneOf(h.at("size"), "hugepages.size", {"2M", "1G"});
    if (!size.ok()) return size.status();
    p->hugepage_size_kib = *size == 0 ? 2048 : 1048576;
  }
  if (!h.contains("count")) return r.AtValue("hugepages", "hugepages needs \"count\"");
  const json& count = h.at("count");
  if (!count.is_number_unsigned()) {
    return r.WrongType("hugepages.count", count, "a non-negative integer");
  }
  p->hugepages = count.get<uint64_t>();
  p->hugepages_where = r.WhereValue("hugepages.count");
  return Status::Ok();
}

Status ParsePageFile(const Reader& r, const json& sp, const char* key, std::string* out) {
  if (!sp.contains(key)) return Status::Ok();
  std::string path = std::string("status_page.") + key;
  auto v = r.String(sp.at(key), path, "an absolute file path");
  if (!v.ok()) return v.status();
  bool clean = std::none_of(v->begin(), v->end(), [](char c) { return c < 0x20 || c == 0x7f; });
  if (!StartsWith(*v, "/") || !clean) {
    return r.AtValue(path, path + ": '" + Printable(*v) + "' is not an absolute file path");
  }
  *out = *v;
  return Status::Ok();
}

Status ParseStatusPage(const Reader& r, const json& sp, Policy* p) {
  if (Status s =
          r.Object(sp, "status_page", {"listen", "tls_cert", "tls_key", "client_ca", "token_file"});
      !s.ok()) {
    return s;
  }
  Policy::PageFiles& f = p->page_files;
  for (auto [key, out] :
       {std::pair{"tls_cert", &f.tls_cert}, std::pair{"tls_key", &f.tls_key},
        std::pair{"client_ca", &f.client_ca}, std::pair{"token_file", &f.token_file}}) {
    if (Status s = ParsePageFile(r, sp, key, out); !s.ok()) return s;
  }
  if (!sp.contains("listen")) return Status::Ok();
  const json& listen = sp.at("listen");
  if (!listen.is_array() || listen.empty()) {
    return r.WrongType("status_page.listen", listen, "a non-empty list of \"ADDR:PORT\"");
  }
  p->listen.clear();
  for (size_t i = 0; i < listen.size(); ++i) {
    std::string path = Index("status_page.listen", i);
    auto a = r.String(listen.at(i), path, "a string \"ADDR:PORT\"");
    if (!a.ok()) return a.status();
    if (auto why = RefuseListenAddress(*a)) {
      return r.AtValue(path, path + ": '" + Printable(*a) + "': " + Printable(*why));
    }
    for (const auto& seen : p->listen) {
      if (seen == *a) return r.AtValue(path, path + ": '" + *a + "' is listed twice");
    }
    p->listen.push_back(*a);
  }
  return Status::Ok();
}

// "fleet": {"policy_url": URL, "default_url": URL, "ca_file": FILE}.
Status ParseFleet(const Reader& r, const json& f, Policy* p) {
  if (Status s = r.Object(f, "fleet", {"policy_url", "default_url", "ca_file", "comment"});
      !s.ok()) {
    return s;
  }
  for (auto [key, out] : {std::pair{"policy_url", &p->fleet.policy_url},
                          std::pair{"default_url", &p->fleet.default_url}}) {
    if (!f.contains(key)) continue;
    std::string path = std::string("fleet.") + key;
    auto v = r.String(f.at(key), path, "an https:// URL");
    if (!v.ok()) return v.status();
    if (Status s = fleet::CheckTemplate(*v); !s.ok()) {
      return r.AtValue(path, path + ": " + s.message());
    }
    *out = *v;
  }
  if (f.contains("comment")) {
    if (auto c = r.String(f.at("comment"), "fleet.comment"); !c.ok()) return c.status();
  }
  if (!f.contains("ca_file")) return Status::Ok();
  auto v = r.String(f.at("ca_file"), "fleet.ca_file", "an absolute file path");
  if (!v.ok()) return v.status();
  bool clean = std::none_of(v->begin(), v->end(), [](char c) { return c < 0x20 || c == 0x7f; });
  if (!StartsWith(*v, "/") || !clean) {
    return r.AtValue("fleet.ca_file",
                     "fleet.ca_file: '" + Printable(*v) + "' is not an absolute file path");
  }
  p->fleet.ca_file = *v;
  return Status::Ok();
}

// "update": {"url": URL, "tries": 1..9}.
Status ParseUpdate(const Reader& r, const json& u, Policy* p) {
  if (Status s = r.Object(u, "update", {"url", "tries", "comment"}); !s.ok()) return s;
  if (u.contains("comment")) {
    if (auto c = r.String(u.at("comment"), "update.comment"); !c.ok()) return c.status();
  }
  if (u.contains("url")) {
    auto v = r.String(u.at("url"), "update.url", "an https:// or http:// URL");
    if (!v.ok()) return v.status();
    auto url = fleet::CheckUpdateUrl(*v);
    if (!url.ok()) return r.AtValue("update.url", "update.url: " + url.status().message());
    p->update.url = *url;
  }
  if (u.contains("tries")) {
    const json& t = u.at("tries");
    if (!t.is_number_integer()) return r.WrongType("update.tries", t, "a number 1..9");
    auto tries = fleet::CheckUpdateTries(std::to_string(t.get<int64_t>()));
    if (!tries.ok()) return r.AtValue("update.tries", "update.tries: " + tries.status().message());
    p->update.tries = *tries;
  }
  return Status::Ok();
}

Result<Policy> ParseTree(const Reader& r, const json& j, const std::string& source) {
  Policy p;
  p.source = source;
  if (Status s = r.Object(j, "",
                          {"gpus", "devices", "kernel_params", "hugepages", "hardening",
                           "status_page", "reboot", "fleet", "update", "comment"});
      !s.ok()) {
    return s;
  }
  if (j.contains("comment")) {
    if (auto c = r.String(j.at("comment"), "comment"); !c.ok()) return c.status();
  }
  if (Status s = ParseRules(r, j, "gpus", &p.gpus); !s.ok()) return s;
  if (Status s = ParseRules(r, j, "devices", &p.devices); !s.ok()) return s;
  if (j.contains("kernel_params")) {
    if (Status s = ParseKernelParams(r, j.at("kernel_params"), &p); !s.ok()) return s;
  }
  if (j.contains("hugepages")) {
    if (Status s = ParseHugepages(r, j.at("hugepages"), &p); !s.ok()) return s;
  }
  if (j.contains("hardening")) {
    auto h = r.OneOf(j.at("hardening"), "hardening", {"off", "baseline", "strict"});
    if (!h.ok()) return h.status();
    p.hardening = *h == 0 ? Hardening::kOff : *h == 1 ? Hardening::kBaseline : Hardening::kStrict;
  }
  if (j.contains("status_page")) {
    if (Status s = ParseStatusPage(r, j.at("status_page"), &p); !s.ok()) return s;
  }
  if (j.contains("reboot")) {
    auto reboot = r.OneOf(j.at("reboot"), "reboot", {"never", "when-needed"});
    if (!reboot.ok()) return reboot.status();
    p.reboot_when_needed = *reboot == 1;
  }
  if (j.contains("fleet")) {
    if (Status s = ParseFleet(r, j.at("fleet"), &p); !s.ok()) return s;
  }
  if (j.contains("update")) {
    if (Status s = ParseUpdate(r, j.at("update"), &p); !s.ok()) return s;
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
  SourceText src(text, source);
  auto doc = ParsePlacedJson(src);
  if (!doc.ok()) return doc.status();
  Reader r(src, *doc);
  return ParseTree(r, doc->root, source);
}

}  // namespace gpuhost::plan
