// Lexical path arithmetic for root-relative paths (no file system access, so
// it works the same on "/", a fixture, or an image tree).
#pragma once

#include <string>

namespace gpuhost {

// Joins `base`'s directory with a relative symlink target and folds "." and
// "..": ("/sys/bus/pci/devices/x", "../../../devices/p/x") -> "/sys/devices/p/x".
// An absolute target is returned normalized as is.
std::string ResolveLink(const std::string& link_path, const std::string& target);
// Folds "//", "." and ".." of an absolute path; ".." never climbs above "/".
std::string NormalizePath(const std::string& path);

}  // namespace gpuhost
