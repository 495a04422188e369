#include "apply/pin_vfio.h"

#include "apply/holders.h"
#include "base/strings.h"

namespace gpuhost::apply {
namespace {

// The value of `key` quoted right after it in `line` ("KERNEL==\"" -> the
// text up to the next quote), or nullopt when the key is not there.
std::optional<std::string> Quoted(std::string_view line, std::string_view key) {
  size_t at = line.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  size_t start = at + key.size();
  size_t end = line.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  return std::string(line.substr(start, end - start));
}

// "0x10de" -> 0x10de; a present but malformed ID makes the line invalid.
bool IdField(std::string_view line, std::string_view key, std::optional<uint16_t>* out) {
  auto text = Quoted(line, key);
  if (!text) return true;
  auto v = ParseHex(*text);
  if (!StartsWith(*text, "0x") || !v || *v > 0xffff) return false;
  *out = static_cast<uint16_t>(*v);
  return true;
}

std::optional<PinTarget> ParseRule(std::string_view line) {
  auto kernel = Quoted(line, "KERNEL==\"");
  auto action = Quoted(line, "ACTION==\"");
  auto subsystem = Quoted(line, "SUBSYSTEM==\"");
  auto override_to = Quoted(line, "ATTR{driver_override}=\"");
  if (!kernel || action != "add" || subsystem != "pci" || override_to != "vfio-pci") {
    return std::nullopt;
  }
  auto address = inventory::PciAddress::Parse(*kernel);
  // Parse takes "BB:dd.f" too; the kernel's names are always the full form.
  if (!address || address->ToString() != *kernel) return std::nullopt;
  PinTarget t{*address, std::nullopt, std::nullopt};
  if (!IdField(line, "ATTR{vendor}==\"", &t.vendor_id) ||
      !IdField(line, "ATTR{device}==\"", &t.device_id)) {
    return std::nullopt;
  }
  return t;
}

std::optional<uint16_t> ReadId(const Fs& fs, const std::string& path) {
  auto text = fs.Read(path);
  if (!text.ok()) return std::nullopt;
  auto v = ParseHex(Trim(*text));
  if (!v || *v > 0xffff) return std::nullopt;
  return static_cast<uint16_t>(*v);
}

// "10de:26b9", as lspci -n and the messages write IDs.
std::string Ids(uint16_t vendor, uint16_t device) { return Hex(vendor, 4) + ":" + Hex(device, 4); }

}  // namespace

Result<std::vector<PinTarget>> ParseVfioRules(const std::string& text, const std::string& file) {
  std::vector<PinTarget> out;
  int n = 0;
  for (const auto& raw : Split(text, '\n')) {
    ++n;
    std::string_view line = Trim(raw);
    if (line.empty() || line[0] == '#') continue;
    auto t = ParseRule(line);
    if (!t) {
      std::string shown(line.substr(0, 120));
      return Status::Invalid(file + ":" + std::to_string(n) +
                             ": not a rule gpuhost-agent writes ('" + shown +
                             (line.size() > 120 ? "...'" : "'") + "); nothing pinned");
    }
    out.push_back(*t);
  }
  return out;
}

std::vector<PinOutcome> PinVfio(Fs& fs, const std::vector<PinTarget>& targets) {
  std::vector<PinOutcome> out;
  for (const auto& t : targets) {
    PinOutcome r{t.address.ToString(), false, ""};
    const std::string dev = "/sys/bus/pci/devices/" + r.address;
    auto vendor = ReadId(fs, dev + "/vendor");
    auto device = ReadId(fs, dev + "/device");
    const bool named = t.vendor_id && t.device_id;
    const std::string want = named ? Ids(*t.vendor_id, *t.device_id) : "";
    if (!fs.Exists(dev)) {
      r.message = "not present; nothing to pin";
    } else if (!vendor || !device) {
      r.message = "vendor or device ID unreadable; left alone";
    } else if (named && (*vendor != *t.vendor_id || *device != *t.device_id)) {
      r.message = "holds " + Ids(*vendor, *device) + ", not " + want + "; left alone";
    } else if (Status s = fs.WriteAttribute(dev + "/driver_override", "vfio-pci", true); !s.ok()) {
      r.failed = true;
      r.message = "driver_override: " + s.ToString();
    } else {
      std::string driver = CurrentDriver(fs, t.address);
      r.message = Ids(*vendor, *device) + " pinned to vfio-pci";
      if (driver == "vfio-pci") {
        r.message += " (bound to it already)";
      } else if (!driver.empty()) {
        // Loaded before this unit ran (the initrd): apply moves it, or says who holds it.
        r.message += ", but " + driver + " bound it first; gpuhost-agent apply moves it";
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace gpuhost::apply
