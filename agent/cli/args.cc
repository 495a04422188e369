#include "cli/args.h"

#include <algorithm>

namespace gpuhost::cli {

Result<Args> Args::Parse(const std::vector<OptionSpec>& specs, int argc, char** argv, int first) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg.size() == 2) {
      return Status::Invalid("unexpected argument '" + arg + "' (see --help)");
    }
    std::string name = arg.substr(2);
    std::string value;
    bool inline_value = false;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      inline_value = true;
    }
    auto spec = std::find_if(specs.begin(), specs.end(),
                             [&](const OptionSpec& s) { return s.name == name; });
    if (spec == specs.end()) return Status::Invalid("unknown option --" + name + " (see --help)");
    if (spec->takes_value && !inline_value) {
      if (i + 1 >= argc) return Status::Invalid("option --" + name + " needs a value");
      value = argv[++i];
    } else if (!spec->takes_value && inline_value) {
      return Status::Invalid("option --" + name + " takes no value");
    }
    if (spec->takes_value && value.empty()) {
      return Status::Invalid("option --" + name + " needs a non-empty value");
    }
    if (args.Has(name) && !spec->repeatable) {
      return Status::Invalid("option --" + name + " given twice");
    }
    args.values_[name].push_back(value);
  }
  return args;
}

std::string Args::Get(const std::string& name, const std::string& fallback) const {
  auto it = values_.find(name);
  return it == values_.end() ? fallback : it->second.back();
}

std::vector<std::string> Args::GetAll(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>() : it->second;
}

std::string OptionsHelp(const std::vector<OptionSpec>& specs) {
  std::vector<std::string> left;
  size_t width = 0;
  for (const auto& s : specs) {
    left.push_back("--" + s.name + (s.takes_value ? " " + s.value_name : ""));
    width = std::max(width, left.back().size());
  }
  std::string out;
  for (size_t i = 0; i < specs.size(); ++i) {
    out += "  " + left[i] + std::string(width - left[i].size() + 3, ' ') + specs[i].help + "\n";
  }
  return out;
}

}  // namespace gpuhost::cli
