// Errors as values (after LevelDB's Status): every operation that touches the
// machine returns a Status or a Result<T>, never throws and never exits, so a
// bad device or file becomes a warning on that device and the run goes on.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace gpuhost {

class Status {
 public:
  enum class Code { kOk, kNotFound, kInvalid, kIo, kBusy, kUnsupported, kTimeout };

  Status() = default;
  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status Invalid(std::string msg) { return Status(Code::kInvalid, std::move(msg)); }
  static Status Io(std::string msg) { return Status(Code::kIo, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status Unsupported(std::string msg) { return Status(Code::kUnsupported, std::move(msg)); }
  static Status Timeout(std::string msg) { return Status(Code::kTimeout, std::move(msg)); }
  // A Status of the given kind (kOk gives Ok() and drops the message).
  static Status FromCode(Code code, std::string msg) {
    return code == Code::kOk ? Status() : Status(code, std::move(msg));
  }
  // errno-based I/O failure: "what: strerror(err)".
  static Status FromErrno(const std::string& what, int err);

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsInvalid() const { return code_ == Code::kInvalid; }
  bool IsBusy() const { return code_ == Code::kBusy; }
  bool IsTimeout() const { return code_ == Code::kTimeout; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not found: /sys/...: No such file or directory"; "ok" when ok().
  std::string ToString() const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or the Status saying why there is none. REQUIRES: a Result built
// from a Status is never built from an ok() Status.
template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T value_or(T fallback) const& { return ok() ? value() : std::move(fallback); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace gpuhost
