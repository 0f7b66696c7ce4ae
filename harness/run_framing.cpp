#include "harness/run_framing.hpp"

#include <regex>

#include <fmt/format.h>

namespace faultmux {

void judge_started(scenario_result& r, const scenario& s,
                   const std::map<std::string, not_started_group>& missing,
                   const std::set<std::string>& by_target) {
  if (missing.empty()) return;
  bool target_did_it = true;
  oracle_result started{"workers started", verdict::fail, {}};
  for (const auto& g : s.workers)
    if (auto it = missing.find(g.name); it != missing.end()) {
      started.evidence.push_back(fmt::format("group {}: {} of {} workers started: {}", g.name,
                                             it->second.started, g.count, it->second.why));
      target_did_it = target_did_it && by_target.count(g.name);
    }
  r.report.notices = started.evidence;
  r.error = !target_did_it || !s.expect.fault_class.empty();
  if (r.error) started.v = verdict::error;
  r.oracles.insert(r.oracles.begin(), std::move(started));
  r.passed = false;
}

void add_unfired_faults(scenario_result& r) {
  static const std::regex unfired(R"((fired|applied) 0 time|fired in 0 worker|did not finish)");
  for (const auto& o : r.oracles)
    if (o.name == "faults fired" && o.v == verdict::fail)
      for (const auto& line : o.evidence)
        if (std::regex_search(line, unfired)) r.report.notices.push_back("never fired: " + line);
}

}  // namespace faultmux
