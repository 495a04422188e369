#include "report/boot_section.h"

#include <cstdio>

#include "report/page.h"

namespace gpuhost::report {
namespace {

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Tag(const char* cls, std::string_view text) {
  return std::string("<span class=\"tag ") + cls + "\">" + Esc(text) + "</span>";
}

std::string Row(const char* key, const std::string& html) {
  return std::string("<dt>") + key + "</dt><dd>" + html + "</dd>";
}

// A rollback and a refused boot need a person's look; a trial or a pending
// update are on their way; the rest is as it should be.
const char* StatusClass(const std::string& status) {
  if (status == "rolled-back") return "bad";
  if (status == "on-trial" || status == "update-pending" || status == "older-selected") {
    return "warn";
  }
  return "ok";
}

const char* UkiClass(boot::UkiState s) {
  switch (s) {
    case boot::UkiState::kGood:
      return "ok";
    case boot::UkiState::kPending:
    case boot::UkiState::kTrying:
      return "warn";
    case boot::UkiState::kBad:
      return "bad";
  }
  return "ok";
}

std::string Counter(const boot::InstalledVersion& i) {
  if (!i.tries_left) return "-";
  return std::to_string(*i.tries_left) + " left, " + std::to_string(i.tries_done) + " done";
}

// "updated at T in 41.2 s, 9 -> 10: ...": the last `gpuhost-agent update`.
std::string LastUpdate(const boot::UpdateAttempt& a) {
  const char* cls = a.result == "failed" ? "bad" : (a.result == "updated" ? "warn" : "ok");
  char took[32];
  std::snprintf(took, sizeof took, "%.1f s", a.duration_s);
  std::string h = Tag(cls, a.result) + " at " + Esc(a.finished_at) + " in " + took;
  if (!a.to_version.empty()) {
    h += ", <span class=\"mono\">" + Esc(a.from_version) + " &rarr; " + Esc(a.to_version) +
         "</span>";
  }
  return h + ": " + Esc(a.message);
}

}  // namespace

std::string RenderBootSection(const View& v) {
  std::optional<boot::BootState> effective = EffectiveBootState(v);
  if (!effective) return "";
  const boot::BootState& b = *effective;
  std::string h =
      "<section id=\"boot\"><h2>Image and updates <small>the running version and the ones "
      "installed beside it</small></h2><dl>";
  h += Row("Status", Tag(StatusClass(b.status), b.status) + " " + Esc(b.summary));
  if (!b.running_version.empty()) {
    h += Row("Running",
             "<span class=\"mono\">" + Esc(b.image_id) + " " + Esc(b.running_version) + "</span>");
  }
  if (!b.rolled_back_from.empty()) {
    h += Row("Rolled back from", "<span class=\"mono\">" + Esc(b.rolled_back_from) +
                                     "</span> after " + std::to_string(b.rollback_tries) +
                                     (b.rollback_tries == 1 ? " try" : " tries"));
    h += Row("Why", Esc(b.rollback_reason));
  }
  if (const boot::Verdict* verdict = ThisBootVerdict(v)) {
    h += Row("This boot", verdict->blessed ? Tag("ok", "blessed") + " at " + Esc(verdict->at)
                                           : Tag("bad", "refused") + " at " + Esc(verdict->at) +
                                                 ": " + Esc(verdict->reason));
  } else if (b.counted_boot) {
    h += Row("This boot", Tag("warn", "not judged yet") +
                              " gpuhost-bless.service decides once the agent's run is done");
  }
  if (v.last_update) h += Row("Last update", LastUpdate(*v.last_update));
  if (!b.boot_count_path.empty()) {
    h += Row("Boot counter", "<span class=\"mono\">" + Esc(b.boot_count_path) + "</span>");
  }
  h += "</dl>";
  if (!b.installed.empty()) {
    h += "<table><thead><tr><th>Version</th><th>State</th><th>Tries</th><th>File in " + Esc(b.esp) +
         "/EFI/Linux</th></tr></thead><tbody>";
    for (const auto& i : b.installed) {
      std::string version = Esc(i.version);
      if (i.version == b.running_version) version += " <small>(running)</small>";
      h += "<tr><td>" + version + "</td><td>" + Tag(UkiClass(i.state), UkiStateName(i.state)) +
           "</td><td>" + Counter(i) + "</td><td class=\"mono\">" + Esc(i.file) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  return h + "</section>";
}

}  // namespace gpuhost::report
