#include "update/transfer_render.h"

#include "base/strings.h"

namespace gpuhost::update {
namespace {

bool SafeUrlChar(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '"' && c != '\'' && c != '\\';
}

// The section a line opens ("Source" for "[Source]"), or nullopt.
std::optional<std::string> SectionOf(std::string_view line) {
  line = Trim(line);
  if (line.size() < 2 || line.front() != '[' || line.back() != ']') return std::nullopt;
  return std::string(line.substr(1, line.size() - 2));
}

}  // namespace

Result<std::string> CheckUpdateUrl(std::string_view url) {
  std::string_view rest;
  if (StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else if (StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else {
    return Status::Invalid("update URL must start with https:// or http://");
  }
  if (rest.empty() || rest.front() == '/') return Status::Invalid("update URL names no host");
  if (url.size() > 2048) return Status::Invalid("update URL is longer than 2048 characters");
  for (char c : url) {
    if (!SafeUrlChar(c)) {
      return Status::Invalid("update URL has a space, quote, backslash or control character");
    }
  }
  std::string out(url);
  if (out.back() != '/') out += '/';
  return out;
}

Result<int> CheckTries(std::string_view text) {
  auto n = ParseInt(Trim(text));
  if (!n || *n < 1 || *n > 9) return Status::Invalid("update tries must be a number 1..9");
  return static_cast<int>(*n);
}

Result<std::string> RenderTransfer(std::string_view transfer, const Source& src) {
  std::vector<std::string> lines = Split(transfer, '\n');
  std::string section;
  bool path_set = false;
  for (auto& line : lines) {
    if (auto s = SectionOf(line)) section = *s;
    std::string_view l = Trim(line);
    if (section == "Source" && StartsWith(l, "Path=")) {
      line = "Path=" + src.url;
      path_set = true;
    } else if (section == "Target" && StartsWith(l, "TriesLeft=") && src.tries) {
      line = "TriesLeft=" + std::to_string(*src.tries);
    }
  }
  if (!path_set) return Status::Invalid("no [Source] Path= to set");
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    out += lines[i];
    if (i + 1 < lines.size()) out += '\n';
  }
  return out;
}

}  // namespace gpuhost::update
