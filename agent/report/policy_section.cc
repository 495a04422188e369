#include "report/policy_section.h"

#include "report/page.h"

namespace gpuhost::report {
namespace {

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Mono(std::string_view s) { return "<span class=\"mono\">" + Esc(s) + "</span>"; }

std::string Row(const char* key, const std::string& html) {
  return std::string("<dt>") + key + "</dt><dd>" + html + "</dd>";
}

const char* SourceClass(const std::string& source) {
  if (source == fleet::kSourceNode || source == fleet::kSourceLocal ||
      source == fleet::kSourceBuiltIn) {
    return "ok";
  }
  return "warn";  // fleet-default and last-good: the node's own file was not used
}

}  // namespace

std::string RenderPolicySection(const result::State& s) {
  const fleet::PolicyOrigin& p = s.policy;
  if (p.source.empty() && p.url_template.empty()) return "";
  std::string h =
      "<section id=\"policy\"><h2>Policy <small>where this run's policy came "
      "from</small></h2><dl>";
  std::string src = p.source.empty() ? "<span class=\"tag bad\">none</span>"
                                     : "<span class=\"tag " + std::string(SourceClass(p.source)) +
                                           "\">" + Esc(p.source) + "</span>";
  if (!p.url.empty()) src += " " + Mono(p.url);
  if (!p.file.empty()) src += " " + Mono(p.file);
  h += Row("Source", src);
  if (!p.url_template.empty()) {
    h += Row("Policy URL", Mono(p.url_template) + " <span class=\"rule\">from " +
                               Esc(p.url_template_from) + "</span>");
    h += Row("Server CA", p.ca_file.empty() ? "the system's CA bundle" : Mono(p.ca_file));
  }
  if (!p.boot_nic.empty()) h += Row("Boot NIC", Esc(p.boot_nic));
  h += "</dl>";
  if (!p.skipped.empty()) {
    h += "<table><thead><tr><th>Passed over</th><th>URL</th><th>Why</th></tr></thead><tbody>";
    for (const auto& k : p.skipped) {
      h += "<tr><td>" + Esc(k.source) + "</td><td class=\"mono\">" + Esc(k.url) + "</td><td>" +
           Esc(k.reason) + "</td></tr>";
    }
    h += "</tbody></table>";
  }
  return h + "</section>";
}

}  // namespace gpuhost::report
