#include "update/transfer_render.h"

#include "base/strings.h"

namespace gpuhost::update {
namespace {

// The section a line opens ("Source" for "[Source]"), or nullopt.
std::optional<std::string> SectionOf(std::string_view line) {
  line = Trim(line);
  if (line.size() < 2 || line.front() != '[' || line.back() != ']') return std::nullopt;
  return std::string(line.substr(1, line.size() - 2));
}

}  // namespace

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
