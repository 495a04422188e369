// Command-line options of one subcommand: "--name VALUE", "--name=VALUE" and
// boolean "--flag". Unknown options and missing values are errors that name
// the option, never silently ignored.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace gpuhost::cli {

struct OptionSpec {
  std::string name;  // without "--"
  bool takes_value = false;
  bool repeatable = false;
  std::string value_name;  // for --help: "DIR"
  std::string help;
};

class Args {
 public:
  // Parses argv[first..argc). Positional arguments are rejected.
  static Result<Args> Parse(const std::vector<OptionSpec>& specs, int argc, char** argv, int first);

  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  std::string Get(const std::string& name, const std::string& fallback = "") const;
  std::vector<std::string> GetAll(const std::string& name) const;

 private:
  std::map<std::string, std::vector<std::string>> values_;
};

// "  --root DIR   Read /sys and /proc under DIR ..." lines for --help.
std::string OptionsHelp(const std::vector<OptionSpec>& specs);

}  // namespace gpuhost::cli
