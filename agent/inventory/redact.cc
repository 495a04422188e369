#include "inventory/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/strings.h"

namespace gpuhost::inventory {
namespace {

constexpr std::array<std::string_view, 5> kSecretEndings = {"password", "passwd", "passphrase",
                                                            "secret", "token"};
constexpr std::array<std::string_view, 6> kSecretWords = {"key",  "apikey", "auth",
                                                          "pass", "pwd",    "psk"};

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool SecretWordExact(std::string_view w) {
  return std::find(kSecretWords.begin(), kSecretWords.end(), w) != kSecretWords.end() ||
         std::any_of(kSecretEndings.begin(), kSecretEndings.end(),
                     [&](std::string_view e) { return EndsWith(w, e); });
}

bool SecretWord(std::string_view w) {
  return SecretWordExact(w) || (EndsWith(w, "s") && SecretWordExact(w.substr(0, w.size() - 1)));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A parameter name lower-cased, with '-' as '_' (the kernel takes either).
std::string NormalName(std::string_view name) {
  std::string out = Lower(name);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

// Rule 2: the words of a NormalName(), cut at '.' and '_'.
bool SecretName(std::string_view name) {
  std::string_view rest(name);
  while (true) {
    size_t cut = rest.find_first_of("._");
    if (SecretWord(rest.substr(0, cut))) return true;
    if (cut == std::string_view::npos) return false;
    rest.remove_prefix(cut + 1);
  }
}

// "<redacted>" for `secret`, with a '"' when it held an odd number of them:
// the quotes around what stays pair up as before, so the line still splits
// into the same words (and a second redaction finds the same values).
std::string Hide(std::string_view secret) {
  bool odd = std::count(secret.begin(), secret.end(), '"') % 2 != 0;
  return std::string(kRedacted) + (odd ? "\"" : "");
}

// "ID:DATA" -> "ID:<redacted>"; without a ':', all of it goes.
std::string HideAfterColon(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return Hide(s);
  return std::string(s.substr(0, colon + 1)) + Hide(s.substr(colon + 1));
}

// Rule 3: after each "://" and "iscsi:", up to the last '@' before the next
// '/' or white space. One set of ends for both, none of which a hidden part
// holds: a second pass finds the same spans.
std::string RedactUserinfo(std::string_view v) {
  std::string lower = Lower(v);
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    size_t url = lower.find("://", i);
    size_t iscsi = lower.find("iscsi:", i);
    size_t at_marker = std::min(url, iscsi);
    if (at_marker == std::string::npos) break;
    size_t begin = at_marker + (at_marker == url ? 3 : 6);
    size_t stop = v.find_first_of("/ \t\n\v\f\r", begin);
    if (stop == std::string_view::npos) stop = v.size();
    size_t at = v.substr(begin, stop - begin).rfind('@');
    out += v.substr(i, begin - i);
    if (at == std::string_view::npos || at == 0) {
      i = begin;
      continue;
    }
    out += HideAfterColon(v.substr(begin, at));
    i = begin + at;
  }
  out += v.substr(std::min(i, v.size()));
  return out;
}

// `name` is a NormalName().
std::string RedactValue(std::string_view name, std::string_view value) {
  if (name.find("set_credential") != std::string_view::npos) return HideAfterColon(value);
  if (SecretName(name)) return Hide(value);
  return RedactUserinfo(value);
}

// One word: "NAME=VALUE", "NAME=\"VALUE\"", "\"NAME=VALUE\"" or a switch.
std::string RedactWord(std::string_view w) {
  bool quoted_word = StartsWith(w, "\"");
  size_t eq = w.find('=');
  if (eq == std::string_view::npos) return std::string(w);
  std::string_view name = w.substr(quoted_word ? 1 : 0, eq - (quoted_word ? 1 : 0));
  std::string_view value = w.substr(eq + 1);
  bool open = !quoted_word && StartsWith(value, "\"");
  if (open) value.remove_prefix(1);
  bool close = (quoted_word || open) && EndsWith(value, "\"");
  if (close) value.remove_suffix(1);
  return std::string(w.substr(0, eq + 1)) + (open ? "\"" : "") +
         RedactValue(NormalName(name), value) + (close ? "\"" : "");
}

bool IsSpace(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

}  // namespace

std::string RedactCmdline(std::string_view cmdline) {
  std::string out;
  out.reserve(cmdline.size());
  size_t i = 0;
  while (i < cmdline.size()) {
    if (IsSpace(cmdline[i])) {
      out += cmdline[i++];
      continue;
    }
    // As the kernel's next_arg(): white space inside double quotes is part of the word.
    size_t end = i;
    bool in_quote = false;
    for (; end < cmdline.size() && (in_quote || !IsSpace(cmdline[end])); ++end) {
      if (cmdline[end] == '"') in_quote = !in_quote;
    }
    out += RedactWord(cmdline.substr(i, end - i));
    i = end;
  }
  return out;
}

}  // namespace gpuhost::inventory
