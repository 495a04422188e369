// Reads JSON written by our own ToJson functions back into structs. Every
// accessor names the field that is missing or of the wrong type; after the
// first error the rest return defaults and status() keeps that first error.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/strings.h"
#include "inventory/model.h"

namespace gpuhost::inventory {

using nlohmann::json;

class JsonReader {
 public:
  explicit JsonReader(std::string where) : where_(std::move(where)) {}
  const Status& status() const { return status_; }

  const json* Field(const json& o, const char* key) {
    if (!status_.ok()) return nullptr;
    if (!o.is_object() || !o.contains(key)) {
      status_ = Status::Invalid(where_ + ": missing field '" + key + "'");
      return nullptr;
    }
    return &o.at(key);
  }
  std::string Str(const json& o, const char* key) {
    const json* v = Field(o, key);
    if (v == nullptr) return {};
    if (!v->is_string()) return Fail<std::string>(key, "a string");
    return v->get<std::string>();
  }
  bool Bool(const json& o, const char* key) {
    const json* v = Field(o, key);
    if (v == nullptr) return false;
    if (!v->is_boolean()) return Fail<bool>(key, "true or false");
    return v->get<bool>();
  }
  uint64_t Uint(const json& o, const char* key) {
    const json* v = Field(o, key);
    if (v == nullptr) return 0;
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return Fail<uint64_t>(key, "a non-negative integer");
    }
    return v->get<uint64_t>();
  }
  std::optional<int> OptInt(const json& o, const char* key) {
    const json* v = Field(o, key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    if (!v->is_number_integer()) return Fail<std::optional<int>>(key, "an integer or null");
    return v->get<int>();
  }
  uint64_t HexStr(const json& o, const char* key, uint64_t max) {
    std::string s = Str(o, key);
    if (!status_.ok()) return 0;
    auto v = ParseHex(s);
    if (!v || *v > max) return Fail<uint64_t>(key, "a hex string");
    return *v;
  }
  std::optional<uint64_t> OptHexStr(const json& o, const char* key, uint64_t max) {
    const json* v = Field(o, key);
    if (v == nullptr || v->is_null()) return std::nullopt;
    return HexStr(o, key, max);
  }
  PciAddress Addr(const std::string& s, const char* key) {
    auto a = PciAddress::Parse(s);
    if (!a) return Fail<PciAddress>(key, "a PCI address");
    return *a;
  }
  std::vector<PciAddress> AddrArray(const json& o, const char* key) {
    std::vector<PciAddress> out;
    const json* v = Field(o, key);
    if (v == nullptr) return out;
    if (!v->is_array()) return Fail<std::vector<PciAddress>>(key, "an array");
    for (const auto& e : *v) {
      if (!e.is_string()) return Fail<std::vector<PciAddress>>(key, "an array of addresses");
      out.push_back(Addr(e.get<std::string>(), key));
    }
    return out;
  }
  std::vector<std::string> StrArray(const json& o, const char* key) {
    std::vector<std::string> out;
    const json* v = Field(o, key);
    if (v == nullptr) return out;
    if (!v->is_array()) return Fail<std::vector<std::string>>(key, "an array");
    for (const auto& e : *v) {
      if (!e.is_string()) return Fail<std::vector<std::string>>(key, "an array of strings");
      out.push_back(e.get<std::string>());
    }
    return out;
  }

 public:
  // Records the first error only; later ones would be consequences of it.
  template <typename T>
  T Fail(const char* key, const char* want) {
    if (status_.ok()) {
      status_ = Status::Invalid(where_ + ": field '" + key + "' must be " + want);
    }
    return T{};
  }

 private:
  std::string where_;
  Status status_;
};

}  // namespace gpuhost::inventory
