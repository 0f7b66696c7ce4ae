// What the parts of index.html share (reports/html*.cpp): reading
// results.json without ever throwing, formatting, verdicts and the matrix's
// columns and cells, the page's size caps, and the pieces each file renders.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/html.hpp"
#include "reports/verdict.hpp"

namespace faultmux::reports::html_parts {

using json = nlohmann::json;

// Caps that keep the built-in suite's page small (under 2 MB) and fast to
// open. A page that still comes out over page_budget is rendered again with
// the compact caps.
struct limits {
  std::size_t rows_drawn = 60;      // more processes: groups summarised
  std::size_t affected_rows = 30;   // rows drawn beside a summary
  std::size_t marks_per_row = 40;   // titled marks; calls and handshakes are one path
  bool call_ticks = true;           // draw calls at all
  std::size_t evidence_lines = 12;  // per oracle
  std::size_t fault_rows = 60;      // fault log table
  std::size_t fault_lines = 40;     // vertical fault lines in a timeline
  std::size_t chart_points = 300;   // per resource chart
  std::size_t text = 300;           // bytes of one evidence line or mark text
  bool meanings = true;             // each oracle's meaning beside it (the legend has them too)
};
inline constexpr limits normal_limits{};
inline constexpr limits compact_limits{20, 8, 6, false, 4, 12, 8, 60, 120, false};
inline constexpr std::size_t page_budget = std::size_t{1800} * 1024;
extern thread_local limits lim;

// --- JSON access that never throws: a report renders whatever is there. ---

const json& at(const json& j, const char* key);
// The array at key, or an empty one.
const json& arr(const json& j, const char* key);
// The string at key (a number as its JSON text), or def.
std::string str(const json& j, const char* key, const std::string& def = "");
std::optional<double> num(const json& j, const char* key);
double num_or(const json& j, const char* key, double def);

// --- Text. ---

std::string esc(std::string_view s);
// A line cut to `limit` bytes (at a UTF-8 boundary; 0: the page's cap), escaped.
std::string esc_cut(std::string_view s, std::size_t limit = 0);
// A coordinate, rounded to 0.1 without a trailing ".0".
std::string c(double v);
std::string seconds(double s);
std::string ms_text(double v);

// --- Verdicts, columns and cells. ---

// An entry's or oracle's verdict; one missing or not faultmux's could not
// be judged, so it reads as an error.
verdict verdict_of(const json& j);
// The page's class and data-verdict key of a verdict: pass, fail, error, na.
const char* verdict_key(verdict v);

struct column {
  std::string key;    // "builtin", "mitogen", "legacy:a,b"
  std::string label;  // for people
  int order = 0;
};

column column_of(const json& e);

// Scenario names and columns in the order a report shows them.
struct matrix_layout {
  std::vector<std::string> rows;
  std::vector<column> columns;
};

matrix_layout layout_of(const json& run);

// A cell: every entry (repeats) of one scenario on one column.
struct cell {
  std::vector<std::size_t> entries;  // indexes into run.scenarios
  int pass = 0, fail = 0, error = 0, na = 0;
  bool mixed() const { return pass && (fail || error); }
  // What the cell shows: a mixed cell failed.
  verdict overall() const {
    if (mixed()) return verdict::fail;
    if (error) return verdict::error;
    if (fail) return verdict::fail;
    return pass ? verdict::pass : verdict::not_applicable;
  }
  // Its data-verdict: a verdict's key, or "mixed" (passed and failed).
  std::string key() const { return mixed() ? "mixed" : verdict_key(overall()); }
};

std::string cell_key(const std::string& scenario, const std::string& col);
std::map<std::string, cell> cells_of(const json& run);
// The id of a scenario entry's details section.
std::string anchor(std::size_t entry);

// --- Oracles, colours and symbols, shared by the sections and the legend. ---

// Each oracle's name and what it means, in the order the oracles judge.
const std::vector<std::pair<std::string, std::string>>& oracle_meanings();
const char* outcome_colour(const std::string& o);
const std::vector<std::string>& outcome_order();
// One mark symbol at (x, y); "" for kinds drawn elsewhere (calls) or not at all.
std::string mark_shape(const std::string& kind, double x, double y);

// --- Page parts. ---

std::string verdict_badge(verdict v);
std::string entry_title(const json& e);
const json* first_failed_oracle(const json& e);
std::string rerun_block(const json& e);
struct counts {
  int pass = 0, fail = 0, error = 0, na = 0;
  void add(verdict v) {
    switch (v) {
      case verdict::pass:
        ++pass;
        break;
      case verdict::fail:
        ++fail;
        break;
      case verdict::not_applicable:
        ++na;
        break;
      case verdict::error:
        ++error;
        break;
    }
  }
};

// Per target, what passed and failed; "" when the run has one target.
std::string per_target_line(const json& run);
counts count_run(const json& run);
std::string host_line(const json& run);
std::string libraries_line(const json& run);
std::string short_rev(const std::string& rev);

// --- Charts (html_charts.cpp). ---

struct window {
  double from, to;
  std::string what;
};
std::vector<window> windows_of(const json& e);
// A scenario's timeline: one row per process (groups summarised past the cap).
std::string timeline_svg(const json& e, std::size_t id);
std::string latency_svg(const json& lat);
// A resource plot of samples[field] * scale over the run; "" without samples.
std::string line_chart(const json& e, const json& samples, const char* field, double scale,
                       const char* title, const char* unit, std::optional<double> baseline);

// --- History (html_history.cpp). ---

std::string history_section(const std::vector<json>& runs, const std::vector<history_row>& hist);

}  // namespace faultmux::reports::html_parts
