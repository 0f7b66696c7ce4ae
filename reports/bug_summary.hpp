// summary.md of `faultmux run --bundle`: a run's failures as Markdown to
// paste into an issue (Expected / Actual / Evidence, how to reproduce, the
// environment), from a results.json document alone.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace faultmux::reports {

// `run` is a results.json document whose entries' `rerun` are the commands
// to quote (as the bundle rewrote them); `rerun_all` the command that reruns
// the whole run. Evidence per failed entry: its failed expectations with
// their evidence lines, and the first error lines of the mux's log (its
// timeline's error marks).
std::string bug_summary_markdown(const nlohmann::json& run, const std::string& rerun_all);

}  // namespace faultmux::reports
