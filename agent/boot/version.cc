#include "boot/version.h"

#include <cctype>

namespace gpuhost::boot {
namespace {

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
// What separates runs: anything but letters, digits and '~'.
bool IsSeparator(char c) { return !IsDigit(c) && !IsAlpha(c) && c != '~'; }

// The run of characters matching `pred` at the front of `s`, removed from it.
template <typename Pred>
std::string_view TakeRun(std::string_view& s, Pred pred) {
  size_t n = 0;
  while (n < s.size() && pred(s[n])) ++n;
  std::string_view run = s.substr(0, n);
  s.remove_prefix(n);
  return run;
}

int Sign(int v) { return (v > 0) - (v < 0); }

}  // namespace

int CompareVersions(std::string_view a, std::string_view b) {
  for (;;) {
    TakeRun(a, IsSeparator);
    TakeRun(b, IsSeparator);
    // '~' sorts before everything, the end of the string included: 1~rc1 < 1.
    bool ta = !a.empty() && a.front() == '~';
    bool tb = !b.empty() && b.front() == '~';
    if (ta || tb) {
      if (!ta) return 1;
      if (!tb) return -1;
      a.remove_prefix(1);
      b.remove_prefix(1);
      continue;
    }
    if (a.empty() || b.empty()) return Sign(static_cast<int>(!a.empty()) - !b.empty());
    bool da = IsDigit(a.front());
    bool db = IsDigit(b.front());
    if (da != db) return da ? 1 : -1;  // a number is newer than letters: 1.1 > 1.a
    if (da) {
      std::string_view na = TakeRun(a, IsDigit);
      std::string_view nb = TakeRun(b, IsDigit);
      TakeRun(na, [](char c) { return c == '0'; });
      TakeRun(nb, [](char c) { return c == '0'; });
      if (na.size() != nb.size()) return na.size() > nb.size() ? 1 : -1;
      if (int c = na.compare(nb); c != 0) return Sign(c);
    } else {
      std::string_view la = TakeRun(a, IsAlpha);
      std::string_view lb = TakeRun(b, IsAlpha);
      if (int c = la.compare(lb); c != 0) return Sign(c);
    }
  }
}

}  // namespace gpuhost::boot
