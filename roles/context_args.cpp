#include "roles/context_args.hpp"

namespace faultmux {

std::pair<std::string, bool> split_fault_target(const std::string& spec) {
  const std::string suffix = "@parent";
  if (spec.size() > suffix.size() &&
      spec.compare(spec.size() - suffix.size(), suffix.size(), suffix) == 0)
    return {spec.substr(0, spec.size() - suffix.size()), true};
  return {spec, false};
}

std::vector<std::string> child_context_args(const context_settings& s, const std::string& name) {
  std::vector<std::string> out;
  if (s.unidirectional) out.push_back("--unidirectional");
  for (const auto& bug : s.legacy_bugs) out.insert(out.end(), {"--legacy-bug", bug});
  const std::string below = name + "/";
  for (const auto& [path, spec] : s.fault_at) {
    if (path == name) {
      auto [fault, parent] = split_fault_target(spec);
      out.insert(out.end(), {"--fault-at", fault});
      if (parent) out.insert(out.end(), {"--fault-target", "parent"});
    } else if (path.compare(0, below.size(), below) == 0) {
      out.insert(out.end(), {"--context-fault-at", path.substr(below.size()) + "=" + spec});
    }
  }
  for (const auto& [path, spec] : s.behaviours) {
    if (path == name)
      out.insert(out.end(), {"--behave", spec});
    else if (path.compare(0, below.size(), below) == 0)
      out.insert(out.end(), {"--context-behave", path.substr(below.size()) + "=" + spec});
  }
  return out;
}

}  // namespace faultmux
