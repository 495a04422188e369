#include "base/status.h"

#include <cstring>

namespace gpuhost {

Status Status::FromErrno(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return NotFound(std::move(msg));
    case EBUSY:
      return Busy(std::move(msg));
    case EINVAL:
      return Invalid(std::move(msg));
    case ETIMEDOUT:
      return Timeout(std::move(msg));
    default:
      return Io(std::move(msg));
  }
}

std::string Status::ToString() const {
  const char* kind = "ok";
  switch (code_) {
    case Code::kOk:
      return "ok";
    case Code::kNotFound:
      kind = "not found";
      break;
    case Code::kInvalid:
      kind = "invalid";
      break;
    case Code::kIo:
      kind = "I/O error";
      break;
    case Code::kBusy:
      kind = "busy";
      break;
    case Code::kUnsupported:
      kind = "unsupported";
      break;
    case Code::kTimeout:
      kind = "timeout";
      break;
  }
  return std::string(kind) + ": " + message_;
}

}  // namespace gpuhost
