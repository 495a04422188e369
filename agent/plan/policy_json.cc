#include "plan/policy_json.h"

#include <iterator>
#include <set>
#include <vector>

namespace gpuhost::plan {
namespace {

using nlohmann::json;

constexpr size_t kMaxDepth = 64;  // a policy nests 4 deep; this only stops abuse

// nlohmann's lexer reads the text through this iterator, one increment per
// byte, so `*consumed` is how far it has read when a SAX callback runs.
class CountingIterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  CountingIterator() = default;
  CountingIterator(const char* p, size_t* consumed) : p_(p), consumed_(consumed) {}
  reference operator*() const { return *p_; }
  CountingIterator& operator++() {
    ++p_;
    if (consumed_ != nullptr) ++*consumed_;
    return *this;
  }
  CountingIterator operator++(int) {
    CountingIterator old = *this;
    ++*this;
    return old;
  }
  bool operator==(const CountingIterator& o) const { return p_ == o.p_; }

 private:
  const char* p_ = nullptr;
  size_t* consumed_ = nullptr;
};

bool IsNumberChar(char c) {
  return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

// Builds the tree like nlohmann's own DOM parser, plus places and duplicate
// keys. Where a token starts is worked out from where the lexer stopped:
// right after a string's closing quote, a literal, '{' or '['; a number is
// only known to have ended once the byte after it was read.
class PlacingHandler {
 public:
  PlacingHandler(const SourceText& src, PlacedJson* out, const size_t* consumed)
      : src_(src), text_(src.text()), out_(out), consumed_(consumed) {}

  const Status& error() const { return error_; }

  bool null() { return Value(json(nullptr), *consumed_ - 4); }
  bool boolean(bool v) { return Value(json(v), *consumed_ - (v ? 4 : 5)); }
  bool number_integer(json::number_integer_t v) { return Value(json(v), NumberStart()); }
  bool number_unsigned(json::number_unsigned_t v) { return Value(json(v), NumberStart()); }
  bool number_float(json::number_float_t v, const std::string&) {
    return Value(json(v), NumberStart());
  }
  bool string(std::string& v) { return Value(json(std::move(v)), StringStart()); }
  bool binary(json::binary_t&) { return Fail(*consumed_, "binary values are not JSON"); }

  bool start_object(size_t) { return Open(json::object()); }
  bool start_array(size_t) { return Open(json::array()); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }

  bool key(std::string& k) {
    Frame& f = frames_.back();
    size_t at = StringStart();
    if (!f.keys.insert(k).second) {
      return Fail(at, "duplicate key '" + Printable(k) + "' in " +
                          (f.path.empty() ? std::string("the policy") : f.path));
    }
    f.key = k;
    out_->key_at.emplace(ChildPath(), at);
    return true;
  }

  bool parse_error(size_t position, const std::string&, const nlohmann::detail::exception& ex) {
    // nlohmann's what() starts "[json.exception.parse_error.101] parse error
    // at line 1, column 2: "; the place is ours, so keep what follows.
    std::string what = ex.what();
    size_t cut = what.find("syntax error");
    if (cut == std::string::npos)
      cut = what.find("] ") == std::string::npos ? 0 : what.find("] ") + 2;
    // A number too large for a double (out_of_range 406) is found once the
    // number is read: point at its start. Otherwise `position` is one past
    // the byte the lexer stopped at.
    size_t at = ex.id == 406 ? NumberStart() : position > 0 ? position - 1 : 0;
    return Fail(at, "not valid JSON: " + Printable(what.substr(cut)));
  }

 private:
  struct Frame {
    json* node;
    std::string path;
    std::set<std::string> keys;  // objects: every key so far
    std::string key;             // objects: the key of the value that comes next
    size_t index = 0;            // arrays: the index of the value that comes next
  };

  bool Fail(size_t at, const std::string& msg) {
    if (error_.ok()) error_ = Status::Invalid(src_.Where(at) + msg);
    return false;
  }

  std::string ChildPath() const {
    if (frames_.empty()) return "";
    const Frame& f = frames_.back();
    if (f.node->is_array()) return f.path + "[" + std::to_string(f.index) + "]";
    std::string k = Printable(f.key);
    return f.path.empty() ? k : f.path + "." + k;
  }

  // Puts v where the next value goes; returns where it now lives.
  json* Place(json&& v, size_t at) {
    out_->value_at.emplace(ChildPath(), at);
    if (frames_.empty()) {
      out_->root = std::move(v);
      return &out_->root;
    }
    Frame& f = frames_.back();
    if (f.node->is_array()) {
      f.index++;
      f.node->push_back(std::move(v));
      return &f.node->back();
    }
    json& slot = (*f.node)[f.key];
    slot = std::move(v);
    return &slot;
  }

  bool Value(json&& v, size_t at) {
    Place(std::move(v), at);
    return true;
  }

  bool Open(json&& container) {
    size_t at = *consumed_ - 1;
    if (frames_.size() >= kMaxDepth) {
      return Fail(at, "nested deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    std::string path = ChildPath();
    json* node = Place(std::move(container), at);
    frames_.push_back({node, std::move(path), {}, {}, 0});
    return true;
  }

  bool Close() {
    frames_.pop_back();
    return true;
  }

  // The opening quote of the string whose closing quote was the last byte
  // read: the nearest quote before it with an even run of backslashes.
  size_t StringStart() const {
    size_t end = *consumed_ - 1;
    for (size_t i = end; i-- > 0;) {
      if (text_[i] != '"') continue;
      size_t slashes = 0;
      while (slashes < i && text_[i - 1 - slashes] == '\\') slashes++;
      if (slashes % 2 == 0) return i;
    }
    return 0;
  }

  size_t NumberStart() const {
    size_t p = *consumed_;
    if (p > 0 && p <= text_.size() && !IsNumberChar(text_[p - 1])) p--;  // the byte after it
    while (p > 0 && IsNumberChar(text_[p - 1])) p--;
    return p;
  }

  const SourceText& src_;
  std::string_view text_;
  PlacedJson* out_;
  const size_t* consumed_;
  std::vector<Frame> frames_;
  Status error_;
};

// Length of the valid UTF-8 sequence at s[i], or 0.
size_t Utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  size_t n = c < 0x80                   ? 1
             : (c >= 0xC2 && c <= 0xDF) ? 2
             : (c >= 0xE0 && c <= 0xEF) ? 3
             : (c >= 0xF0 && c <= 0xF4) ? 4
                                        : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  // No overlong forms, surrogates or code points past U+10FFFF.
  if (c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (c == 0xED && b(i + 1) > 0x9F) return 0;
  if (c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (c == 0xF4 && b(i + 1) > 0x8F) return 0;
  return n;
}

}  // namespace

std::string SourceText::Where(size_t offset) const {
  if (offset == std::string_view::npos || offset > text_.size()) return name_ + ": ";
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text_[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return name_ + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
}

Result<PlacedJson> ParsePlacedJson(const SourceText& src) {
  PlacedJson out;
  size_t consumed = 0;
  PlacingHandler handler(src, &out, &consumed);
  const char* begin = src.text().data();
  const char* end = begin + src.text().size();
  bool ok =
      json::sax_parse(CountingIterator(begin, &consumed), CountingIterator(end, nullptr), &handler);
  if (!handler.error().ok()) return handler.error();
  if (!ok) return Status::Invalid(src.Where(consumed) + "not valid JSON");
  return out;
}

std::string Printable(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8Length(s, i);
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (n == 0 || c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
      i++;
      continue;
    }
    out.append(s.substr(i, n));
    i += n;
  }
  return out;
}

}  // namespace gpuhost::plan
