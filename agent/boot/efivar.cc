#include "boot/efivar.h"

namespace gpuhost::boot {
namespace {

constexpr size_t kAttributeBytes = 4;
// systemd-boot's strings are paths and entry ids: a few hundred bytes.
constexpr size_t kMaxValueBytes = 4096;

}  // namespace

std::string LoaderVariablePath(std::string_view name) {
  return std::string(kEfivarsDir) + "/" + std::string(name) + "-" + kLoaderGuid;
}

Result<std::string> DecodeUtf16Variable(std::string_view bytes) {
  if (bytes.size() < kAttributeBytes) return Status::Invalid("shorter than its attributes");
  std::string_view value = bytes.substr(kAttributeBytes);
  if (value.size() % 2 != 0) return Status::Invalid("odd length: not UTF-16");
  if (value.size() > kMaxValueBytes) return Status::Invalid("longer than a loader variable");
  std::string out;
  for (size_t i = 0; i + 1 < value.size(); i += 2) {
    unsigned c = static_cast<unsigned char>(value[i]) |
                 (static_cast<unsigned>(static_cast<unsigned char>(value[i + 1])) << 8);
    if (c == 0) break;
    out.push_back(c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?');
  }
  return out;
}

Result<std::string> ReadLoaderVariable(const Fs& fs, std::string_view name) {
  std::string path = LoaderVariablePath(name);
  auto bytes = fs.Read(path);
  if (!bytes.ok()) return bytes.status();
  auto value = DecodeUtf16Variable(*bytes);
  if (!value.ok()) return Status::Invalid(path + ": " + value.status().message());
  return value;
}

std::string EncodeUtf16Variable(std::string_view value) {
  // Attributes: non-volatile, boot-service and runtime access (0x7), as
  // systemd-boot sets them; efivarfs shows them little-endian.
  std::string out("\x07\x00\x00\x00", kAttributeBytes);
  for (char c : value) {
    out.push_back(c);
    out.push_back('\0');
  }
  out.append(2, '\0');
  return out;
}

}  // namespace gpuhost::boot
