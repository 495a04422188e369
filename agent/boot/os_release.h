// Which image this is: IMAGE_ID and IMAGE_VERSION of os-release, which mkosi
// writes from ImageId= and ImageVersion=. Read from /usr/lib/os-release
// first: /usr is on the verified root, while /etc is an overlay whose upper
// directory anyone with the disk can change (image/README.md, "The verified
// root and where writes go").
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "host/fs.h"

namespace gpuhost::boot {

struct OsRelease {
  std::string path;  // the file read
  std::string image_id;
  std::string image_version;
  std::string pretty_name;
};

// One os-release value: KEY=VALUE lines, VALUE optionally in single or double
// quotes with backslash escapes; "" when KEY is absent.
std::string OsReleaseValue(std::string_view text, std::string_view key);

// /usr/lib/os-release, else /etc/os-release. NotFound when neither exists.
Result<OsRelease> ReadOsRelease(const Fs& fs);

}  // namespace gpuhost::boot
