#include "boot/uki_name.h"

#include <cctype>

#include "base/strings.h"

namespace gpuhost::boot {
namespace {

constexpr std::string_view kSuffix = ".efi";

// A boot counter is a small decimal number; anything else is not one.
std::optional<int> Counter(std::string_view s) {
  if (s.empty() || s.size() > 4) return std::nullopt;
  int v = 0;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// Versions as sysupdate's @v takes them: no '+' or '-' (the counter's) and
// nothing that is not printable.
bool ValidVersion(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    bool ok =
        std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '~' || c == '^';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const char* UkiStateName(UkiState s) {
  switch (s) {
    case UkiState::kGood:
      return "good";
    case UkiState::kPending:
      return "pending";
    case UkiState::kTrying:
      return "trying";
    case UkiState::kBad:
      return "bad";
  }
  return "good";
}

UkiState StateOf(const UkiName& n) {
  if (!n.tries_left) return UkiState::kGood;
  if (*n.tries_left == 0) return UkiState::kBad;
  return n.tries_done == 0 ? UkiState::kPending : UkiState::kTrying;
}

std::optional<UkiName> ParseUkiName(std::string_view file, std::string_view image_id) {
  if (image_id.empty() || file.size() <= kSuffix.size() ||
      file.substr(file.size() - kSuffix.size()) != kSuffix) {
    return std::nullopt;
  }
  std::string prefix = std::string(image_id) + "_";
  if (!StartsWith(file, prefix)) return std::nullopt;
  std::string_view rest = file.substr(prefix.size(), file.size() - prefix.size() - kSuffix.size());
  UkiName n;
  n.file = std::string(file);
  size_t plus = rest.find('+');
  n.version = std::string(rest.substr(0, plus));
  if (!ValidVersion(n.version)) return std::nullopt;
  if (plus == std::string_view::npos) return n;
  std::string_view counter = rest.substr(plus + 1);
  size_t minus = counter.find('-');
  n.tries_left = Counter(counter.substr(0, minus));
  if (!n.tries_left) return std::nullopt;
  if (minus != std::string_view::npos) {
    auto done = Counter(counter.substr(minus + 1));
    if (!done) return std::nullopt;
    n.tries_done = *done;
  }
  return n;
}

}  // namespace gpuhost::boot
