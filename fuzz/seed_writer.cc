// Writes seed inputs for the JSON fuzz targets from fixture trees: the
// inventory `gpuhost-agent inventory --json` would print for each tree, and
// state files as a dry run and a finished run of each policy would leave.
// collect_seeds.sh runs it; nothing here is part of the agent.
//
//   seed_writer OUT_DIR POLICY_DIR TREE...
//     OUT_DIR/inventory_json_fuzz/TREENAME.json
//     OUT_DIR/state_fuzz/TREENAME-POLICYNAME.json
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "host/fs.h"
#include "inventory/inventory.h"
#include "inventory/json.h"
#include "plan/plan.h"
#include "plan/policy.h"
#include "result/state.h"

using namespace gpuhost;
namespace fs = std::filesystem;

namespace {

void Write(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string Slug(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

result::State Run(const inventory::Inventory& inv, const plan::Policy& policy, bool dry_run) {
  result::State s;
  s.agent_version = "0.1.0";
  s.started_at = "2026-11-25T10:00:00Z";
  s.finished_at = "2026-11-25T10:00:01.250Z";
  s.dry_run = dry_run;
  s.inventory = inv;
  s.plan = plan::MakePlan(inv, policy);
  for (const auto& a : s.plan.actions) {
    s.actions.push_back({a, dry_run ? result::Outcome::kDryRun : result::Outcome::kDone,
                         dry_run ? "" : "read back", 1200});
  }
  if (!dry_run && !s.actions.empty()) {
    s.actions.back().outcome = result::Outcome::kFailed;
    s.actions.back().message = "write: Device or resource busy";
  }
  s.checks = {{"kernel.kptr_restrict", "2", "2", true}, {"module vfio_pci", "loaded", "", false}};
  s.kernel_params_missing = s.plan.kernel_params;
  s.reboot_requested = !dry_run && !s.kernel_params_missing.empty();
  s.warnings = inv.warnings;
  if (!dry_run) s.errors = {{"0000:41:00.0", "bind: vfio-pci did not take the device"}};
  s.result = dry_run ? "ok" : "degraded";
  s.timings_us = {{"inventory", 41000}, {"plan", 300}, {"apply", 0}, {"total", 41500}};
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: seed_writer OUT_DIR POLICY_DIR TREE...\n");
    return 2;
  }
  fs::path out = argv[1];
  std::vector<std::pair<std::string, plan::Policy>> policies = {{"defaults", plan::Policy()}};
  for (const auto& e : fs::directory_iterator(argv[2])) {
    std::stringstream text;
    text << std::ifstream(e.path()).rdbuf();
    auto p = plan::ParsePolicy(text.str(), e.path().filename());
    if (p.ok()) policies.emplace_back(e.path().stem(), *p);
  }
  int written = 0;
  for (int i = 3; i < argc; ++i) {
    RootFs root(argv[i], 0);
    inventory::Inventory inv;
    Status st = inventory::Collect(root, {}, &inv);
    if (!st.ok()) {
      std::fprintf(stderr, "seed_writer: %s: %s\n", argv[i], st.ToString().c_str());
      continue;
    }
    std::string name = Slug(fs::path(argv[i]).lexically_normal().parent_path().filename().string() +
                            "-" + fs::path(argv[i]).filename().string());
    Write(out / "inventory_json_fuzz" / (name + ".json"), inventory::ToJson(inv).dump(1));
    ++written;
    for (const auto& [pname, policy] : policies) {
      for (bool dry : {true, false}) {
        std::string file = name + "-" + Slug(pname) + (dry ? "-dry" : "-run") + ".json";
        Write(out / "state_fuzz" / file, result::StateToJson(Run(inv, policy, dry)).dump(1));
        ++written;
      }
    }
  }
  std::printf("seed_writer: %d seeds from %d trees and %zu policies\n", written, argc - 3,
              policies.size());
  return 0;
}
