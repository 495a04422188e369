// JSON for the policy, with a place for every value: nlohmann parses, a SAX
// handler builds the tree and remembers where each key and value starts, and
// refuses duplicate keys (nlohmann would silently keep one of the two, so an
// operator's second "hardening" would quietly lose or win).
#pragma once

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace gpuhost::plan {

// The policy's text and its name, to turn a byte offset into
// "policy.json:4:23: ".
class SourceText {
 public:
  SourceText(std::string_view text, std::string name) : text_(text), name_(std::move(name)) {}
  // "name:line:col: " for a byte offset; "name: " for npos.
  std::string Where(size_t offset) const;
  std::string_view text() const { return text_; }

 private:
  std::string_view text_;
  std::string name_;
};

// A parsed document. Paths name values as the error messages do: "" is the
// top level, then "gpus", "gpus[0]", "gpus[0].match.vendor".
struct PlacedJson {
  nlohmann::json root;
  std::map<std::string, size_t> value_at;  // path -> offset of the value's first byte
  std::map<std::string, size_t> key_at;    // path -> offset of its key's opening quote
};

// Parses `text` as one JSON value. Errors (syntax, duplicate key, nesting
// deeper than 64) are Invalid and start with src.Where(...). Never throws
// for any input.
Result<PlacedJson> ParsePlacedJson(const SourceText& src);

// Makes text from a policy safe for messages and the result file: valid
// UTF-8 passes, control characters and bytes that are not UTF-8 become \xNN.
std::string Printable(std::string_view s);

}  // namespace gpuhost::plan
