#include "plan/text.h"

namespace gpuhost::plan {

std::string ToText(const inventory::Inventory& inv, const Plan& plan) {
  std::string out = "GPUs (" + std::to_string(plan.gpus.size()) + ")\n";
  if (plan.gpus.empty()) out += "  none found\n";
  for (const auto& g : plan.gpus) {
    const auto* f = inv.Find(g.gpu);
    std::string name = f ? f->vendor_name + " " + f->device_name : "";
    out += "  " + g.gpu.ToString() + "  " + AssignmentName(g.assignment) + "  " + name + "\n";
    out += "      why: " + g.reason + "\n";
    if (g.functions.size() > 1) {
      out += "      functions:";
      for (const auto& fn : g.functions) out += " " + fn.ToString();
      out += "\n";
    }
    if (g.one_start_per_boot) out += "      no usable reset: one VM start per host boot\n";
  }
  if (!plan.devices.empty()) {
    out += "\nOther devices (" + std::to_string(plan.devices.size()) + ")\n";
    for (const auto& d : plan.devices) {
      const auto* f = inv.Find(d.gpu);
      out += "  " + d.gpu.ToString() + "  " + AssignmentName(d.assignment) + "  " +
             (f ? f->vendor_name + " " + f->device_name : "") + "\n";
      out += "      why: " + d.reason + "\n";
    }
  }
  out += "\nKernel parameters wanted:";
  for (const auto& p : plan.kernel_params) out += " " + p;
  out += "\n\nActions (" + std::to_string(plan.actions.size()) + ")\n";
  int n = 0;
  for (const auto& a : plan.actions) {
    std::string what = a.Target();
    if (const auto* w = a.As<act::WriteFile>()) {
      what += " (" + std::to_string(w->contents.size()) + " bytes)";
    } else if (std::string value = a.Value(); !value.empty()) {
      what += " = " + value;
    }
    out += "  " + std::to_string(++n) + ". " + ActionKindName(a.Kind()) + " " + what + "\n";
    out += "      why: " + a.reason + "\n";
  }
  if (!plan.warnings.empty()) {
    out += "\nWarnings (" + std::to_string(plan.warnings.size()) + ")\n";
    for (const auto& w : plan.warnings) out += "  " + w.where + ": " + w.message + "\n";
  }
  return out;
}

}  // namespace gpuhost::plan
