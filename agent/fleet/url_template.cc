#include "fleet/url_template.h"

#include <array>
#include <cctype>

#include "base/strings.h"

namespace gpuhost::fleet {
namespace {

constexpr std::string_view kScheme = "https://";

// Characters a URL may carry as they are (RFC 3986: unreserved, reserved and
// '%'); '{' and '}' are ours.
bool UrlChar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~:/?[]@!$&'()*+,;=%").find(c) != std::string_view::npos;
}

std::string Shown(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c >= 0x7f) {
      out += "\\x" + Hex(c, 2);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// Where the authority ends: the first '/' or '?' after the scheme (npos:
// none, the whole rest is the authority).
size_t AuthorityEnd(std::string_view url) { return url.find_first_of("/?", kScheme.size()); }

const std::array<std::string_view, 3> kNames = {"uuid", "serial", "mac"};

std::string_view ValueOf(std::string_view name, const NodeIds& ids) {
  if (name == "uuid") return ids.uuid;
  if (name == "serial") return ids.serial;
  return ids.mac;
}

const char* Missing(std::string_view name) {
  if (name == "uuid") return "this machine reports no SMBIOS product UUID";
  if (name == "serial") return "this machine reports no SMBIOS product serial";
  return "no boot NIC MAC address was found";
}

// Walks the template: calls `literal` for text and `placeholder` for each
// {name}; stops with an Invalid status at the first problem.
template <typename Lit, typename Ph>
Status Walk(std::string_view url, Lit literal, Ph placeholder) {
  size_t i = 0;
  while (i < url.size()) {
    char c = url[i];
    if (c == '}') return Status::Invalid("'}' without its '{' at offset " + std::to_string(i));
    if (c != '{') {
      literal(c);
      ++i;
      continue;
    }
    size_t close = url.find('}', i);
    size_t next_open = url.find('{', i + 1);
    if (close == std::string_view::npos ||
        (next_open != std::string_view::npos && next_open < close)) {
      return Status::Invalid("'{' without its '}' at offset " + std::to_string(i));
    }
    std::string_view name = url.substr(i + 1, close - i - 1);
    bool known = false;
    for (auto k : kNames) known = known || k == name;
    if (!known) {
      return Status::Invalid("unknown placeholder {" + Shown(name) +
                             "} (known: " + KnownPlaceholders() + ")");
    }
    if (Status s = placeholder(name); !s.ok()) return s;
    i = close + 1;
  }
  return Status::Ok();
}

}  // namespace

const char* KnownPlaceholders() { return "{uuid}, {serial}, {mac}"; }

Status CheckTemplate(std::string_view url) {
  const std::string quoted = "'" + Shown(url) + "'";
  if (StartsWith(url, "http://") ||
      (url.size() >= 7 && EqualsIgnoreCase(url.substr(0, 7), "http://"))) {
    return Status::Invalid(
        quoted +
        ": http:// is refused: a policy decides which devices leave the host, so "
        "it is fetched over https:// only, with the server's certificate checked");
  }
  if (url.size() < kScheme.size() || !EqualsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return Status::Invalid(quoted + ": not an https:// URL");
  }
  if (url.find('#') != std::string_view::npos) {
    return Status::Invalid(quoted + ": has a fragment ('#'), which is never sent to the server");
  }
  for (char c : url) {
    if (c == '{' || c == '}') continue;
    if (!UrlChar(c)) {
      return Status::Invalid(quoted + ": has a character not allowed in a URL ('" +
                             Shown(std::string_view(&c, 1)) + "'; escape it as %XX)");
    }
  }
  size_t end = AuthorityEnd(url);
  std::string_view authority =
      url.substr(kScheme.size(),
                 end == std::string_view::npos ? std::string_view::npos : end - kScheme.size());
  if (authority.find_first_of("{}") != std::string_view::npos) {
    return Status::Invalid(quoted + ": placeholders go in the path or query, not in the host");
  }
  if (authority.find('@') != std::string_view::npos) {
    return Status::Invalid(quoted + ": user names and passwords in the URL are refused");
  }
  if (authority.empty()) return Status::Invalid(quoted + ": no host");
  Status walk = Walk(
      url, [](char) {}, [](std::string_view) { return Status::Ok(); });
  if (!walk.ok()) return Status::Invalid(quoted + ": " + walk.message());
  NodeIds sample{"u", "s", "m"};
  auto filled = Expand(url, sample);
  if (!filled.ok()) return filled.status();
  auto split = SplitHttpsUrl(*filled);
  if (!split.ok()) return Status::Invalid(quoted + ": " + split.status().message());
  return Status::Ok();
}

std::string UrlEscape(std::string_view value) {
  std::string out;
  for (unsigned char c : value) {
    bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '.' || c == '_' || c == '~';
    if (plain) {
      out += static_cast<char>(c);
    } else {
      for (char h : "%" + Hex(c, 2)) out += static_cast<char>(std::toupper(h));
    }
  }
  return out;
}

Result<std::string> Expand(std::string_view url, const NodeIds& ids) {
  std::string out;
  std::string missing;
  Status s = Walk(
      url, [&out](char c) { out += c; },
      [&](std::string_view name) {
        std::string_view v = ValueOf(name, ids);
        if (v.empty() && missing.empty()) {
          missing = "{" + std::string(name) + "}: " + Missing(name);
        }
        out += UrlEscape(v);
        return Status::Ok();
      });
  if (!s.ok()) return Status::Invalid("'" + Shown(url) + "': " + s.message());
  if (!missing.empty()) return Status::NotFound(missing);
  return out;
}

Result<std::string> DefaultUrlFor(std::string_view url) {
  std::string_view no_query = url.substr(0, url.find('?'));
  size_t end = AuthorityEnd(no_query);
  if (end == std::string_view::npos) return std::string(no_query) + "/default.json";
  size_t slash = no_query.rfind('/');
  return std::string(no_query.substr(0, slash + 1)) + "default.json";
}

Result<HttpsTarget> SplitHttpsUrl(std::string_view url) {
  if (url.size() < kScheme.size() || !EqualsIgnoreCase(url.substr(0, kScheme.size()), kScheme)) {
    return Status::Invalid("'" + Shown(url) + "' is not an https:// URL");
  }
  if (url.find_first_of("{}#") != std::string_view::npos) {
    return Status::Invalid("'" + Shown(url) + "' still holds a placeholder or a fragment");
  }
  size_t end = AuthorityEnd(url);
  std::string_view authority =
      url.substr(kScheme.size(),
                 end == std::string_view::npos ? std::string_view::npos : end - kScheme.size());
  HttpsTarget t;
  t.target = end == std::string_view::npos ? "/" : std::string(url.substr(end));
  if (t.target[0] == '?') t.target = "/" + t.target;
  std::string host(authority);
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos)
      return Status::Invalid("'" + Shown(url) + "': '[' without ']'");
    host = std::string(authority.substr(1, close - 1));
    std::string_view rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return Status::Invalid("'" + Shown(url) + "': junk after ']'");
      port = std::string(rest.substr(1));
    }
  } else if (size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = std::string(authority.substr(0, colon));
    port = std::string(authority.substr(colon + 1));
  }
  if (host.empty()) return Status::Invalid("'" + Shown(url) + "': no host");
  if (!port.empty()) {
    auto p = ParseInt(port);
    if (!p || *p < 1 || *p > 65535) {
      return Status::Invalid("'" + Shown(url) + "': port '" + Shown(port) + "' is not 1-65535");
    }
    t.port = static_cast<int>(*p);
  }
  t.host = host;
  return t;
}

}  // namespace gpuhost::fleet
