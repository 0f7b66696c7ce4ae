// index.html: one self-contained page (inline CSS and SVG, no scripts, no
// external resources, printable) rendered from results.json documents alone,
// so any earlier run can be rendered again. With several runs the newest is
// shown in full and the others feed a History section (pass rates, flaky
// scenarios, duration trends).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux::reports {

// Text safe inside HTML elements and quoted attributes: markup characters
// become entities, bytes that are not UTF-8 and control characters other than
// tab and newline become U+FFFD.
std::string html_escape(std::string_view text);

// Reads and checks one results.json: its JSON, or nullopt with *why set to
// what is wrong ("PATH: cannot read: No such file or directory (ENOENT)",
// "PATH: not JSON: ...", "PATH: not a faultmux results document: ...").
std::optional<nlohmann::json> load_results(const std::string& path, std::string* why);

// One scenario on one column (target, or legacy-bug set) across runs.
struct history_row {
  std::string scenario;
  std::string column;  // "builtin", "mitogen", "legacy:epipe-crash", ...
  int passes = 0;      // entries (repeats count one each) that passed
  int failures = 0;    // failed or could not be run
  int runs_seen = 0;   // runs with at least one entry for it
  // Passes and failures for the same seed, within a run's repeats or across runs.
  bool flaky = false;
  // Per run, oldest first: mean duration of its entries (nullopt: not in that run).
  std::vector<std::optional<double>> durations;
  // Per run, oldest first: "pass", "fail", "error", "mixed" or "" (not run).
  std::vector<std::string> verdicts;
  double pass_rate() const {
    return passes + failures ? static_cast<double>(passes) / (passes + failures) : 0;
  }
};

// What the History section needs of an earlier run (run times, revision and
// command; each entry's name, target, legacy bugs, verdict, seed, repeat and
// duration): a results.json of the built-in suite is megabytes, mostly faults
// and timelines, and 20 of them in full would take gigabytes of memory.
nlohmann::json history_only(const nlohmann::json& run);

// Runs ordered oldest first by run.started (ties keep the given order).
std::vector<nlohmann::json> order_runs(std::vector<nlohmann::json> runs);
// The history of already ordered runs, rows in the newest run's order first.
std::vector<history_row> compute_history(const std::vector<nlohmann::json>& runs);

// The page for runs (any order; the newest by run.started is shown in full).
std::string render_html(const std::vector<nlohmann::json>& runs);

// `faultmux report --merge`: several runs as one document, their scenarios
// side by side in one matrix, in the order given. A column that more than one
// run has (two runs against Mitogen) is split, one per run, labelled "(run
// N)". The run is the earliest start, the durations summed, each command
// line once, the seed when every run shares it.
nlohmann::json merge_runs(const std::vector<nlohmann::json>& runs);

// Renders runs into dir/index.html (making dir); "" or what failed.
std::string write_html(const std::vector<nlohmann::json>& runs, const std::string& dir);

}  // namespace faultmux::reports
