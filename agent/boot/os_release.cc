#include "boot/os_release.h"

#include "base/strings.h"

namespace gpuhost::boot {
namespace {

// The value after '=', unquoted as os-release(5) says a shell would.
std::string Unquote(std::string_view v) {
  if (v.size() < 2 || (v.front() != '"' && v.front() != '\'') || v.back() != v.front()) {
    return std::string(v);
  }
  char quote = v.front();
  v = v.substr(1, v.size() - 2);
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (quote == '"' && v[i] == '\\' && i + 1 < v.size()) ++i;
    out.push_back(v[i]);
  }
  return out;
}

}  // namespace

std::string OsReleaseValue(std::string_view text, std::string_view key) {
  for (const auto& line : Split(text, '\n')) {
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#') continue;
    size_t eq = l.find('=');
    if (eq == std::string_view::npos || l.substr(0, eq) != key) continue;
    return Unquote(Trim(l.substr(eq + 1)));
  }
  return "";
}

Result<OsRelease> ReadOsRelease(const Fs& fs) {
  for (const char* path : {"/usr/lib/os-release", "/etc/os-release"}) {
    auto text = fs.Read(path);
    if (!text.ok()) {
      if (text.status().IsNotFound()) continue;
      return text.status();
    }
    OsRelease o;
    o.path = path;
    o.image_id = OsReleaseValue(*text, "IMAGE_ID");
    o.image_version = OsReleaseValue(*text, "IMAGE_VERSION");
    o.pretty_name = OsReleaseValue(*text, "PRETTY_NAME");
    return o;
  }
  return Status::NotFound("no /usr/lib/os-release or /etc/os-release");
}

}  // namespace gpuhost::boot
