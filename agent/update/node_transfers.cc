#include "update/node_transfers.h"

#include <string_view>

namespace gpuhost::update {
namespace {

bool IsTransfer(std::string_view name) {
  constexpr std::string_view kSuffix = ".transfer";
  return name.size() > kSuffix.size() && name.substr(name.size() - kSuffix.size()) == kSuffix;
}

}  // namespace

Result<std::vector<std::string>> WriteNodeTransfers(Fs& fs, const Source& src) {
  auto names = fs.List(kImageTransferDir);
  if (!names.ok()) return names.status();
  std::vector<std::pair<std::string, std::string>> rendered;
  for (const auto& name : *names) {
    if (!IsTransfer(name)) continue;
    std::string from = std::string(kImageTransferDir) + "/" + name;
    auto text = fs.Read(from);
    if (!text.ok()) return text.status();
    auto out = RenderTransfer(*text, src);
    if (!out.ok()) return Status::Invalid(from + ": " + out.status().message());
    rendered.emplace_back(name, std::move(*out));
  }
  if (rendered.empty())
    return Status::NotFound(std::string("no transfers in ") + kImageTransferDir);
  // All rendered before the first is written: a bad one leaves no copies.
  std::vector<std::string> written;
  for (const auto& [name, text] : rendered) {
    std::string to = std::string(kNodeTransferDir) + "/" + name;
    if (Status s = fs.WriteAtomic(to, text, 0644); !s.ok()) return s;
    written.push_back(name);
  }
  return written;
}

}  // namespace gpuhost::update
