#include "run/fetch_record.h"

#include <nlohmann/json.hpp>
#include <optional>

#include "inventory/json_reader.h"
#include "result/run_marker.h"

namespace gpuhost::run {
namespace {

using nlohmann::json;

// Two answers of at most 1 MiB each, every byte escaped at worst six-fold
// ("\u0001"), stay below this; anything larger is not a record of ours.
constexpr size_t kMaxRecordBytes = 16 << 20;

// The kinds an error answer may have, by the name the record gives them:
// enough to rebuild the same Status kind (Invalid fails the run, the rest
// pass the source over).
constexpr std::pair<Status::Code, const char*> kCodes[] = {
    {Status::Code::kNotFound, "not-found"},
    {Status::Code::kInvalid, "invalid"},
    {Status::Code::kIo, "io"},
    {Status::Code::kBusy, "busy"},
    {Status::Code::kUnsupported, "unsupported"},
    {Status::Code::kTimeout, "timeout"},
};

const char* CodeName(Status::Code code) {
  for (const auto& [c, name] : kCodes) {
    if (c == code) return name;
  }
  return "io";  // kOk never reaches here: an error answer is never ok
}

std::optional<Status::Code> CodeFromName(const std::string& name) {
  for (const auto& [c, n] : kCodes) {
    if (name == n) return c;
  }
  return std::nullopt;
}

// Well-formed UTF-8 as the JSON parser wants it: no overlong forms, no
// surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t more = 0;
    unsigned char lo = 0x80, hi = 0xbf;  // the first continuation byte's range
    if (c >= 0xc2 && c <= 0xdf) {
      more = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      more = 2;
      if (c == 0xe0) lo = 0xa0;
      if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      more = 3;
      if (c == 0xf0) lo = 0x90;
      if (c == 0xf4) hi = 0x8f;
    } else {
      return false;
    }
    if (s.size() - i <= more) return false;
    for (size_t k = 1; k <= more; ++k) {
      auto d = static_cast<unsigned char>(s[i + k]);
      if (d < (k == 1 ? lo : 0x80) || d > (k == 1 ? hi : 0xbf)) return false;
    }
    i += more + 1;
  }
  return true;
}

// One entry of "answers", or Invalid naming the field.
Result<FetchAnswer> ReadAnswer(const json& a, const std::string& where) {
  if (!a.is_object()) return Status::Invalid(where + ": not an object");
  inventory::JsonReader jr(where);
  FetchAnswer out{jr.Str(a, "url"), Status::Invalid("unset")};
  if (jr.Bool(a, "ok")) {
    std::string body = jr.Str(a, "body");
    if (!jr.status().ok()) return jr.status();
    out.answer = std::move(body);
    return out;
  }
  std::string code = jr.Str(a, "code");
  std::string message = jr.Str(a, "message");
  if (!jr.status().ok()) return jr.status();
  auto kind = CodeFromName(code);
  if (!kind) {
    return Status::Invalid(where +
                           ": field 'code' must be one of not-found, invalid, io, busy, "
                           "unsupported, timeout");
  }
  out.answer = Status::FromCode(*kind, std::move(message));
  return out;
}

}  // namespace

Status WriteRecord(Fs& fs, const std::string& path, const FetchRecord& record) {
  json answers = json::array();
  for (const auto& a : record.answers) {
    if (a.answer.ok()) {
      answers.push_back({{"url", a.url}, {"ok", true}, {"body", *a.answer}});
    } else {
      answers.push_back({{"url", a.url},
                         {"ok", false},
                         {"code", CodeName(a.answer.status().code())},
                         {"message", a.answer.status().message()}});
    }
  }
  json j = {{"boot_id", record.boot_id},
            {"url_template", record.url_template},
            {"answers", std::move(answers)}};
  // Bodies are UTF-8 (RecordingGetter turns any other into an error), so
  // they round-trip exactly; messages can carry a server's bytes (a
  // Location header), which are replaced rather than thrown over.
  return fs.WriteAtomic(path, j.dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0600);
}

Result<FetchRecord> ReadRecord(const Fs& fs, const std::string& path) {
  auto text = fs.Read(path);
  if (!text.ok()) return text.status();
  if (text->size() > kMaxRecordBytes) {
    return Status::Invalid(path + ": larger than " + std::to_string(kMaxRecordBytes) + " bytes");
  }
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::Invalid(path + ": not JSON");
  if (!j.is_object()) return Status::Invalid(path + ": not a JSON object");
  inventory::JsonReader jr(path);
  FetchRecord r;
  r.boot_id = jr.Str(j, "boot_id");
  r.url_template = jr.Str(j, "url_template");
  const json* answers = jr.Field(j, "answers");
  if (answers != nullptr && !answers->is_array()) jr.Fail<bool>("answers", "an array");
  if (!jr.status().ok()) return jr.status();
  for (size_t i = 0; i < answers->size(); ++i) {
    auto a = ReadAnswer((*answers)[i], path + ": answers[" + std::to_string(i) + "]");
    if (!a.ok()) return a.status();
    r.answers.push_back(std::move(*a));
  }
  return r;
}

RecordingGetter::RecordingGetter(Getter real)
    : real_(std::move(real)), answers_(std::make_shared<std::vector<FetchAnswer>>()) {}

Result<std::string> RecordingGetter::operator()(const std::string& url,
                                                const fetch::GetOptions& opts) const {
  Result<std::string> got = real_(url, opts);
  if (got.ok() && !IsUtf8(*got)) {
    got = Status::Invalid(url + ": the answer is not UTF-8 text, which no policy can be");
  }
  answers_->push_back({url, got});
  return got;
}

ReplayGetter ReplayGetter::Load(const Fs& fs, const std::string& path) {
  auto l = std::make_shared<Loaded>();
  l->path = path;
  auto rec = ReadRecord(fs, path);
  // Every problem is an Io or NotFound error, never Invalid: the sources are
  // passed over (fail closed to the last good or local policy), since the
  // record's own trouble says nothing about the policy server's answer.
  if (!rec.ok()) {
    l->problem = rec.status().IsNotFound()
                     ? Status::NotFound("no record at " + path +
                                        " (gpuhost-policy-fetch.service did not run: no network "
                                        "fetch this boot)")
                     : Status::Io("cannot use the fetch record: " + rec.status().message());
    return ReplayGetter(std::move(l));
  }
  auto boot = result::ReadBootId(fs);
  if (!boot.ok() || rec->boot_id.empty()) {
    l->problem = Status::Io("cannot tell whether the record " + path + " is from this boot (" +
                            (boot.ok() ? "it names no boot" : boot.status().ToString()) + ")");
  } else if (rec->boot_id != *boot) {
    // A record left from an earlier boot (a /run that is not a tmpfs, a copy)
    // answered for a server this boot never asked.
    l->problem = Status::Io("record is from another boot (" + path + ": boot " + rec->boot_id +
                            ", this boot is " + *boot + ")");
  } else {
    l->answers = std::move(rec->answers);
  }
  return ReplayGetter(std::move(l));
}

Result<std::string> ReplayGetter::operator()(const std::string& url,
                                             const fetch::GetOptions& /*opts*/) const {
  // Messages start with the URL, as HttpsGet's do (ChoosePolicy drops it).
  if (!loaded_->problem.ok()) {
    return Status::FromCode(loaded_->problem.code(), url + ": " + loaded_->problem.message());
  }
  for (const auto& a : loaded_->answers) {
    if (a.url == url) return a.answer;
  }
  return Status::NotFound(url + ": not fetched this boot by gpuhost-policy-fetch.service (" +
                          loaded_->path + ")");
}

Getter GetterFor(const Fs& fs, const std::string& fetched) {
  if (fetched.empty()) return fetch::HttpsGet;
  return ReplayGetter::Load(fs, fetched);
}

}  // namespace gpuhost::run
