// What gpuhost-policy-fetch.service fetched this boot, for the agent's unit,
// which has no network (docs/fleet.md, section 6). `gpuhost-agent
// fetch-policy` runs ChoosePolicy with a RecordingGetter over real HTTPS and
// writes the record; `apply --fetched FILE` runs it again with a
// ReplayGetter on that record, so both make the same choice and only the
// process without capabilities talks to the network.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "host/fs.h"
#include "run/policy_fetch.h"

namespace gpuhost::run {

// Where the fetch unit writes the record (its RuntimeDirectory=) and the
// agent's unit reads it: `fetch-policy --out` and `apply --fetched`.
inline constexpr const char* kFetchRecordPath = "/run/gpuhost-policy/fetched.json";

// One URL asked, and the body or the error that came back.
struct FetchAnswer {
  std::string url;
  Result<std::string> answer;
};

struct FetchRecord {
  std::string boot_id;       // /proc/sys/kernel/random/boot_id; "" unreadable: no replay takes it
  std::string url_template;  // the choice's, for the reader ("" without a policy URL)
  std::vector<FetchAnswer> answers;
};

// The record as JSON, written atomically through fs, mode 0600: it holds
// the node's policy.
Status WriteRecord(Fs& fs, const std::string& path, const FetchRecord& record);

// The record at `path` through fs. NotFound when there is none; Invalid
// naming the field when it is not a record (never an exception).
Result<FetchRecord> ReadRecord(const Fs& fs, const std::string& path);

// A Getter that asks `real` and keeps every answer in order. Copies share
// the answers (ChoosePolicy takes a copy as its Getter). A 200 whose body is
// not UTF-8 is kept, and answered, as an Invalid error naming the URL:
// JSON strings cannot carry such bytes, and no policy is anything but UTF-8
// JSON, so the run fails on it as it would on the parser's error.
class RecordingGetter {
 public:
  explicit RecordingGetter(Getter real);
  Result<std::string> operator()(const std::string& url, const fetch::GetOptions& opts) const;
  const std::vector<FetchAnswer>& answers() const { return *answers_; }

 private:
  Getter real_;
  std::shared_ptr<std::vector<FetchAnswer>> answers_;
};

// A Getter that answers from the record at `path`, read once (through fs)
// by Load, never from the network. An answer recorded is given back as it
// was, Invalid included (so a broken policy fails the run naming its URL).
// Anything else passes the source over (a non-Invalid error) with why:
// the URL is not in the record, there is no record (the fetch unit did not
// run), it is from another boot, or it is not a record. The run then falls
// back to the last good or local policy and is degraded by ChoosePolicy's
// warning: fail closed, never an unchecked policy.
class ReplayGetter {
 public:
  static ReplayGetter Load(const Fs& fs, const std::string& path);
  Result<std::string> operator()(const std::string& url, const fetch::GetOptions& opts) const;

 private:
  struct Loaded {
    std::string path;
    Status problem;  // not ok: every URL is passed over with it
    std::vector<FetchAnswer> answers;
  };
  explicit ReplayGetter(std::shared_ptr<const Loaded> loaded) : loaded_(std::move(loaded)) {}
  std::shared_ptr<const Loaded> loaded_;
};

// The Getter `apply` and `plan` use: real HTTPS when `fetched` is "" (a
// manual run, tests), else a ReplayGetter on that record.
Getter GetterFor(const Fs& fs, const std::string& fetched);

}  // namespace gpuhost::run
