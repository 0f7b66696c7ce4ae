// `faultmux report --merge`: several runs' results.json as one run, their
// scenarios side by side in one matrix.
#include <map>
#include <set>

#include <fmt/format.h>

#include "reports/html.hpp"
#include "reports/html_parts.hpp"

namespace faultmux::reports {

namespace {

using html_parts::arr;
using html_parts::at;
using html_parts::column_of;
using html_parts::str;

// Every column key of a run's entries.
std::set<std::string> columns_in(const nlohmann::json& run) {
  std::set<std::string> keys;
  for (const auto& e : arr(run, "scenarios")) keys.insert(column_of(e).key);
  return keys;
}

// The runs' `run` sections as one: the earliest start, the durations
// summed, each distinct command line once, the seed when all share it; the
// last run's version and host.
nlohmann::json merged_run(const std::vector<nlohmann::json>& runs) {
  nlohmann::json out = at(runs.back(), "run");
  std::string started, commands;
  std::set<std::string> seen_commands;
  double duration = 0;
  for (const auto& r : runs) {
    const nlohmann::json& run = at(r, "run");
    const std::string s = str(run, "started");
    if (!s.empty() && (started.empty() || s < started)) started = s;
    duration += html_parts::num_or(run, "duration_s", 0);
    const std::string c = str(run, "command_line");
    if (!c.empty() && seen_commands.insert(c).second)
      commands += (commands.empty() ? "" : "; ") + c;
    if (at(run, "seed") != at(runs.front()["run"], "seed")) out["seed"] = nullptr;
  }
  out["started"] = started;
  out["duration_s"] = duration;
  out["command_line"] = commands;
  return out;
}

}  // namespace

nlohmann::json merge_runs(const std::vector<nlohmann::json>& runs) {
  if (runs.empty()) return nlohmann::json::object();
  // A column two runs share (both against Mitogen, from two trees or two
  // days) becomes one per run, so each run stays its own column: the first
  // run keeps it, a later one's is labelled with its number.
  std::map<std::string, std::size_t> first_run;
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (const auto& k : columns_in(runs[i])) first_run.try_emplace(k, i);
  nlohmann::json out = {{"schema", str(runs.back(), "schema")},
                        {"run", merged_run(runs)},
                        {"scenarios", nlohmann::json::array()},
                        {"explore", nlohmann::json::array()}};
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (nlohmann::json e : arr(runs[i], "scenarios")) {
      const html_parts::column col = column_of(e);
      if (first_run[col.key] != i)
        e["column"] = {{"key", fmt::format("{}@{}", col.key, i + 1)},
                       {"label", fmt::format("{} (run {})", col.label, i + 1)},
                       {"order", col.order}};
      out["scenarios"].push_back(std::move(e));
    }
  return out;
}

}  // namespace faultmux::reports
