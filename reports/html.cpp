#include "reports/html.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "reports/html_style.hpp"
#include "reports/verdict.hpp"

namespace faultmux::reports {
namespace {

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
constexpr limits normal_limits{};
constexpr limits compact_limits{20, 8, 6, false, 4, 12, 8, 60, 120, false};
constexpr std::size_t page_budget = std::size_t{1800} * 1024;
thread_local limits lim = normal_limits;

// --- JSON access that never throws: a report renders whatever is there. ---

const json& null_json() {
  static const json n;
  return n;
}
const json& empty_array() {
  static const json a = json::array();
  return a;
}
const json& at(const json& j, const char* key) {
  if (!j.is_object()) return null_json();
  auto it = j.find(key);
  return it == j.end() ? null_json() : *it;
}
const json& arr(const json& j, const char* key) {
  const json& v = at(j, key);
  return v.is_array() ? v : empty_array();
}
std::string str(const json& j, const char* key, const std::string& def = "") {
  const json& v = at(j, key);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number()) return v.dump();
  return def;
}
std::optional<double> num(const json& j, const char* key) {
  const json& v = at(j, key);
  if (v.is_number()) return v.get<double>();
  return std::nullopt;
}
double num_or(const json& j, const char* key, double def) {
  return num(j, key).value_or(def);
}

std::string esc(std::string_view s) {
  return html_escape(s);
}
// A line cut to `limit` bytes (at a UTF-8 boundary; 0: the page's cap), escaped.
std::string esc_cut(std::string_view s, std::size_t limit = 0) {
  limit = limit ? std::min(limit, lim.text) : lim.text;
  if (s.size() <= limit) return esc(s);
  std::size_t n = limit;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return esc(s.substr(0, n)) + fmt::format("… ({} more bytes)", s.size() - n);
}

// A coordinate, rounded to 0.1 without a trailing ".0".
std::string c(double v) {
  if (!std::isfinite(v)) v = 0;
  std::string s = fmt::format("{:.1f}", v);
  if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
  if (s == "-0") s = "0";
  return s;
}

std::string seconds(double s) {
  if (s >= 120) return fmt::format("{} min {:.0f} s", static_cast<int>(s / 60), std::fmod(s, 60));
  if (s >= 10) return fmt::format("{:.1f} s", s);
  return fmt::format("{:.2f} s", s);
}

std::string ms_text(double v) {
  if (v >= 100) return fmt::format("{:.0f} ms", v);
  if (v >= 1) return fmt::format("{:.1f} ms", v);
  return fmt::format("{:.3g} ms", v);
}

// --- Verdicts and columns. ---

// An entry's or oracle's verdict; one missing or not faultmux's could not
// be judged, so it reads as an error.
verdict verdict_of(const json& j) {
  return parse_verdict(str(j, "verdict")).value_or(verdict::error);
}
// The page's class and data-verdict key of a verdict: pass, fail, error, na.
const char* verdict_key(verdict v) {
  return v == verdict::not_applicable ? "na" : verdict_name(v);
}

struct column {
  std::string key;    // "builtin", "mitogen", "legacy:a,b"
  std::string label;  // for people
  int order = 0;
};

column column_of(const json& e) {
  std::vector<std::string> bugs;
  for (const auto& b : arr(e, "legacy_bugs"))
    if (b.is_string()) bugs.push_back(b.get<std::string>());
  if (!bugs.empty()) {
    std::string names;
    for (const auto& b : bugs) names += (names.empty() ? "" : ", ") + b;
    std::string key = "legacy:";
    for (const auto& b : bugs) key += (key.size() > 7 ? "," : "") + b;
    return {key, "legacy bug: " + names, 10};
  }
  std::string t = str(e, "target", "builtin");
  if (t == "builtin") return {t, "built-in mux", 0};
  if (t == "mitogen") return {t, "Mitogen 0.3.3", 1};
  if (t == "external") return {t, "external target", 2};
  return {t, t, 3};
}

// Scenario names and columns in the order a report shows them.
struct matrix_layout {
  std::vector<std::string> rows;
  std::vector<column> columns;
};

matrix_layout layout_of(const json& run) {
  matrix_layout m;
  std::set<std::string> seen_rows, seen_cols;
  for (const char* k : {"builtin", "mitogen"}) {
    json probe = {{"target", k}};
    m.columns.push_back(column_of(probe));
    seen_cols.insert(k);
  }
  for (const auto& e : arr(run, "scenarios")) {
    std::string name = str(e, "name", "?");
    if (seen_rows.insert(name).second) m.rows.push_back(name);
    column col = column_of(e);
    if (seen_cols.insert(col.key).second) m.columns.push_back(col);
  }
  std::stable_sort(m.columns.begin(), m.columns.end(),
                   [](const column& a, const column& b) { return a.order < b.order; });
  return m;
}

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

std::string cell_key(const std::string& scenario, const std::string& col) {
  return scenario + '\x1f' + col;
}

std::map<std::string, cell> cells_of(const json& run) {
  std::map<std::string, cell> cells;
  const json& sc = arr(run, "scenarios");
  for (std::size_t i = 0; i < sc.size(); ++i) {
    cell& c = cells[cell_key(str(sc[i], "name", "?"), column_of(sc[i]).key)];
    c.entries.push_back(i);
    switch (verdict_of(sc[i])) {
      case verdict::pass:
        ++c.pass;
        break;
      case verdict::fail:
        ++c.fail;
        break;
      case verdict::not_applicable:
        ++c.na;
        break;
      case verdict::error:
        ++c.error;
        break;
    }
  }
  return cells;
}

std::string anchor(std::size_t entry) {
  return fmt::format("e{}", entry);
}

// --- Oracles, for a reader who never saw the project. ---

// In the order the oracles judge (harness/oracles.cpp), then the driver's own.
const std::vector<std::pair<std::string, std::string>>& oracle_meanings() {
  static const std::vector<std::pair<std::string, std::string>> m = {
      {"finished", "Every process of the scenario ended before its timeout: nothing hung."},
      {"errors logged",
       "Each error the scenario provokes was reported in the logs, naming the stream and errno."},
      {"no unexpected errors",
       "No error was logged besides the expected and explicitly allowed ones."},
      {"nothing lost",
       "Every message and call of the workers that were not hit got its answer, intact and in "
       "order."},
      {"listener alive",
       "After the faults a fresh client can still connect and do a round trip: the mux still "
       "serves."},
      {"faults fired",
       "Every injected fault really happened (a fault that never fired proves nothing)."},
      {"disconnected groups",
       "Exactly the worker groups meant to be hit lost their streams, promptly, and no others."},
      {"clean exit", "On SIGTERM the mux exited 0 and removed its socket file."},
      {"resources",
       "No process or file of the run was left over and the mux's peak RSS stayed under its "
       "bound."},
      {"smoke checks", "The built-in smoke workload (echo, load and call workers) passed."},
      {"setup", "The scenario could be started at all."},
  };
  return m;
}

// --- Colours and symbols, shared by the timeline and the legend. ---

const char* outcome_colour(const std::string& o) {
  if (o == "ok" || o == "exited") return "#2e7d32";
  if (o == "disconnected") return "#ef6c00";
  if (o == "killed") return "#6a1b9a";
  if (o == "failed") return "#c62828";
  if (o == "refused") return "#8d6e63";
  if (o == "timeout") return "#f9a825";
  if (o == "running") return "#1565c0";
  return "#757575";
}
const std::vector<std::string>& outcome_order() {
  static const std::vector<std::string> o = {"ok",     "exited",  "disconnected", "killed",
                                             "failed", "refused", "timeout",      "running"};
  return o;
}

// One mark symbol at (x, y); "" for kinds drawn elsewhere (calls) or not at all.
std::string mark_shape(const std::string& kind, double x, double y) {
  if (kind == "fault")
    return fmt::format("<path class=\"mark fault\" d=\"M{},{}l5,5-5,5-5-5z\"", c(x), c(y - 5));
  if (kind == "killed")
    return fmt::format("<path class=\"mark killed\" d=\"M{},{}l8,8m0-8l-8,8\"", c(x - 4), c(y - 4));
  if (kind == "disconnect")
    return fmt::format("<circle class=\"mark disconnect\" cx=\"{}\" cy=\"{}\" r=\"3.5\"", c(x),
                       c(y));
  if (kind == "error")
    return fmt::format("<path class=\"mark error\" d=\"M{},{}l4.5,8h-9z\"", c(x), c(y - 5));
  if (kind == "stopped")
    return fmt::format("<rect class=\"mark stopped\" x=\"{}\" y=\"{}\" width=\"6\" height=\"8\"",
                       c(x - 3), c(y - 4));
  if (kind == "resumed")
    return fmt::format("<path class=\"mark resumed\" d=\"M{},{}l7,4-7,4z\"", c(x - 3), c(y - 4));
  if (kind == "connected" || kind == "handshake")
    return fmt::format("<path class=\"mark handshake\" d=\"M{},{}h4v4h-4z\"", c(x - 2), c(y - 2));
  return "";
}

int mark_priority(const std::string& kind) {
  if (kind == "fault" || kind == "error" || kind == "killed") return 0;
  if (kind == "disconnect" || kind == "stopped" || kind == "resumed") return 1;
  if (kind == "handshake" || kind == "connected") return 2;
  return 3;
}

// --- Small helpers for SVG plots. ---

double nice_step(double span, int max_ticks) {
  if (!(span > 0)) return 1;
  double raw = span / max_ticks;
  double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * p >= raw) return m * p;
  return 10 * p;
}

std::string tick_label(double v, double step) {
  if (step >= 1) return fmt::format("{:.0f}", v);
  if (step >= 0.1) return fmt::format("{:.1f}", v);
  if (step >= 0.01) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}

struct window {
  double from, to;
  std::string what;
};
std::vector<window> windows_of(const json& e) {
  std::vector<window> w;
  for (const auto& x : arr(e, "windows")) {
    auto f = num(x, "from_s"), t = num(x, "to_s");
    if (f && t) w.push_back({*f, std::max(*f, *t), str(x, "what")});
  }
  return w;
}
std::vector<std::pair<double, std::string>> fault_times(const json& e) {
  std::vector<std::pair<double, std::string>> f;
  for (const auto& x : arr(e, "faults"))
    if (auto t = num(x, "at_s"))
      f.emplace_back(*t, str(x, "kind") + ": " + str(x, "what") + " (pid " + str(x, "pid") + ")");
  return f;
}

// Shaded windows and fault lines over a plot area; sx maps seconds to x.
std::string overlay(const json& e, double x0, double sx, double span, double top, double bottom) {
  std::string out;
  for (const auto& w : windows_of(e)) {
    double a = x0 + std::clamp(w.from, 0.0, span) * sx, b = x0 + std::clamp(w.to, 0.0, span) * sx;
    out += fmt::format(
        "<rect class=\"window\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{} "
        "({:.3f}–{:.3f} s)</title></rect>",
        c(a), c(top), c(std::max(1.0, b - a)), c(bottom - top), esc_cut(w.what, 120), w.from, w.to);
  }
  std::size_t n = 0;
  for (const auto& [t, what] : fault_times(e)) {
    if (++n > lim.fault_lines) break;
    double x = x0 + std::clamp(t, 0.0, span) * sx;
    out += fmt::format(
        "<line class=\"faultline\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"><title>fault at "
        "{3:.3f} s: {4}</title></line>",
        c(x), c(top), c(bottom), t, esc_cut(what, 160));
  }
  return out;
}

// Grid lines every nice step from y to bottom, labelled above y or below bottom.
std::string time_axis(double x0, double sx, double span, double y, double bottom,
                      bool labels_below = false, int max_ticks = 8) {
  std::string out;
  double step = nice_step(span, max_ticks);
  for (double t = 0; t <= span + step * 1e-6; t += step) {
    double x = x0 + t * sx;
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"tick\" "
        "x=\"{0}\" y=\"{3}\">{4} s</text>",
        c(x), c(y), c(bottom), c(labels_below ? bottom + 12 : y - 4), tick_label(t, step));
  }
  return out;
}

// --- Timeline. ---

double span_of(const json& e) {
  const json& tl = at(e, "timeline");
  double span = num_or(tl, "duration_s", 0);
  for (const auto& p : arr(tl, "processes")) {
    span = std::max(span, num_or(p, "end_s", 0));
    span = std::max(span, num_or(p, "start_s", 0));
  }
  for (const auto& [t, w] : fault_times(e)) span = std::max(span, t);
  for (const auto& w : windows_of(e)) span = std::max(span, w.to);
  if (!(span > 0)) span = std::max(0.001, num_or(e, "duration_s", 1));
  return span;
}

// When the driver stopped the mux: its first "exit" mark (the final SIGTERM).
double stop_time(const json& procs) {
  for (const auto& p : procs) {
    if (str(p, "role") != "mux") continue;
    for (const auto& m : arr(p, "marks"))
      if (str(m, "kind") == "exit")
        if (auto t = num(m, "t")) return *t;
  }
  return std::numeric_limits<double>::infinity();
}

// A process the scenario hit: it ended badly, or was faulted, killed,
// stopped, or disconnected before the mux's own shutdown disconnected all.
bool affected(const json& p, double stop_t) {
  std::string o = str(p, "outcome");
  if (o != "ok" && o != "exited" && o != "running" && !o.empty()) return true;
  for (const auto& m : arr(p, "marks")) {
    std::string k = str(m, "kind");
    if (k == "fault" || k == "error" || k == "killed" || k == "stopped") return true;
    if (k == "disconnect" && num_or(m, "t", 0) < stop_t) return true;
  }
  return false;
}

std::string process_row(const json& p, double y, double x0, double sx, double span) {
  std::string out;
  std::string name = str(p, "name", "?");
  std::string outcome = str(p, "outcome", "?");
  double start = std::clamp(num_or(p, "start_s", 0), 0.0, span);
  auto end_opt = num(p, "end_s");
  double end = std::clamp(end_opt.value_or(span), start, span);
  std::string shown = name.size() > 26 ? name.substr(0, 25) + "…" : name;
  out += fmt::format(
      "<g class=\"proc\" data-outcome=\"{}\"><text class=\"label\" x=\"{}\" y=\"{}\">{}<title>{} "
      "(pid {}, {}): {}</title></text>",
      esc(outcome), c(x0 - 6), c(y + 4), esc(shown), esc(name), esc(str(p, "pid", "?")),
      esc(str(p, "role", "?")), esc(outcome));
  out += fmt::format(
      "<rect class=\"life\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"5\" rx=\"2\" "
      "fill=\"{}\"><title>{}: {:.3f}–{} s, {}</title></rect>",
      c(x0 + start * sx), c(y - 2.5), c(std::max(1.5, (end - start) * sx)), outcome_colour(outcome),
      esc(name), start, end_opt ? fmt::format("{:.3f}", *end_opt) : std::string("(still running)"),
      esc(outcome));
  // Calls are many and alike: one path of ticks, no titles.
  std::string ticks, dots;
  std::vector<const json*> marks;
  for (const auto& m : arr(p, "marks")) {
    std::string k = str(m, "kind");
    auto t = num(m, "t");
    if (!t) continue;
    if (k == "call") {
      if (lim.call_ticks)
        ticks += fmt::format("M{},{}v7", c(x0 + std::clamp(*t, 0.0, span) * sx), c(y - 3.5));
    } else if (k == "connected" || k == "handshake") {
      dots += fmt::format("M{},{}h4v4h-4z", c(x0 + std::clamp(*t, 0.0, span) * sx - 2), c(y - 2));
    } else if (!mark_shape(k, 0, 0).empty()) {
      marks.push_back(&m);
    }
  }
  if (!ticks.empty()) out += "<path class=\"calls\" d=\"" + ticks + "\"/>";
  if (!dots.empty()) out += "<path class=\"mark handshake\" d=\"" + dots + "\"/>";
  if (marks.size() > lim.marks_per_row) {
    std::stable_sort(marks.begin(), marks.end(), [](const json* a, const json* b) {
      return mark_priority(str(*a, "kind")) < mark_priority(str(*b, "kind"));
    });
    marks.resize(lim.marks_per_row);
  }
  // Important marks last, so they are drawn on top.
  std::stable_sort(marks.begin(), marks.end(), [](const json* a, const json* b) {
    return mark_priority(str(*a, "kind")) > mark_priority(str(*b, "kind"));
  });
  for (const json* m : marks) {
    std::string k = str(*m, "kind");
    double t = num_or(*m, "t", 0);
    out += mark_shape(k, x0 + std::clamp(t, 0.0, span) * sx, y);
    out += fmt::format("><title>{} at {:.3f} s: {}</title></{}>", esc(k), t,
                       esc_cut(str(*m, "text"), 160),
                       k == "disconnect" ? "circle"
                       : k == "stopped"  ? "rect"
                                         : "path");
  }
  return out + "</g>";
}

std::string group_bars(const json& tl, double width) {
  const json& groups = arr(tl, "groups");
  if (groups.empty()) return "";
  const double x0 = 190, w = width - x0 - 200, row = 22;
  double h = 10 + groups.size() * row;
  std::string out = fmt::format(
      "<svg class=\"groups\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"outcome of every process, per group\">",
      c(width), c(h));
  double y = 8;
  for (const auto& g : groups) {
    double count = 0;
    if (at(g, "outcomes").is_object())
      for (const auto& [k, v] : at(g, "outcomes").items())
        if (v.is_number()) count += v.get<double>();
    count = std::max(count, num_or(g, "count", 0));
    out += fmt::format("<text class=\"label\" x=\"{}\" y=\"{}\">{} ({}, {})</text>", c(x0 - 6),
                       c(y + 11), esc(str(g, "name", "?").empty() ? "mux" : str(g, "name")),
                       esc(str(g, "role", "?")), c(count));
    double x = x0;
    std::string text;
    std::vector<std::pair<std::string, double>> parts;
    const json& outc = at(g, "outcomes");
    for (const auto& o : outcome_order())
      if (auto v = num(outc, o.c_str()); v && *v > 0) parts.emplace_back(o, *v);
    if (outc.is_object())
      for (const auto& [k, v] : outc.items())
        if (std::find(outcome_order().begin(), outcome_order().end(), k) == outcome_order().end() &&
            v.is_number() && v.get<double>() > 0)
          parts.emplace_back(k, v.get<double>());
    for (const auto& [o, v] : parts) {
      double pw = count > 0 ? w * v / count : 0;
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" fill=\"{}\"><title>{}: {} "
          "{}</title></rect>",
          c(x), c(y), c(std::max(pw, 0.5)), outcome_colour(o), esc(str(g, "name")), c(v), esc(o));
      x += pw;
      text += (text.empty() ? "" : " · ") + fmt::format("{} {}", esc(o), c(v));
    }
    out += fmt::format("<text class=\"gcount\" x=\"{}\" y=\"{}\">{}</text>", c(x0 + w + 8),
                       c(y + 11), text);
    y += row;
  }
  return out + "</svg>";
}

std::string timeline_svg(const json& e, std::size_t id) {
  const json& tl = at(e, "timeline");
  const json& procs = arr(tl, "processes");
  if (!tl.is_object() || procs.empty()) return "";
  const double width = 1100, x0 = 190, x1 = width - 20, row = 16, top = 24;
  const double span = span_of(e);
  const double sx = (x1 - x0) / span;
  const double omitted = num_or(tl, "processes_omitted", 0);
  const bool summarise = omitted > 0 || procs.size() > lim.rows_drawn;
  std::vector<const json*> rows;
  std::string out;
  if (summarise) {
    std::size_t total = procs.size() + static_cast<std::size_t>(omitted);
    out += fmt::format(
        "<p class=\"note\">{} processes: too many to draw one row each. Outcome of every process "
        "per group:</p>",
        total);
    out += group_bars(tl, width);
    const double stop_t = stop_time(procs);
    for (const auto& p : procs)
      if (str(p, "role") == "mux" || affected(p, stop_t)) rows.push_back(&p);
    std::size_t affected_total = rows.size();
    if (rows.size() > lim.affected_rows) rows.resize(lim.affected_rows);
    out += fmt::format(
        "<p class=\"note\">Below: the mux and the processes that were hit (faulted, killed, "
        "disconnected or failed){}.</p>",
        affected_total > rows.size()
            ? fmt::format(", the first {} of {}", rows.size(), affected_total)
            : std::string());
  } else {
    for (const auto& p : procs) rows.push_back(&p);
  }
  if (rows.empty()) return out;
  const double bottom = top + rows.size() * row + 4;
  out += fmt::format(
      "<svg class=\"timeline\" id=\"tl{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "aria-label=\"timeline of every process\">",
      id, c(width), c(bottom + 2));
  for (std::size_t i = 0; i < rows.size(); i += 2)
    out += fmt::format("<rect class=\"band\" x=\"0\" y=\"{}\" width=\"{}\" height=\"{}\"/>",
                       c(top + i * row), c(width), c(row));
  out += time_axis(x0, sx, span, top, bottom);
  out += overlay(e, x0, sx, span, top, bottom);
  double y = top + row / 2;
  for (const json* p : rows) {
    out += process_row(*p, y, x0, sx, span);
    y += row;
  }
  return out + "</svg>";
}

// --- Tables. ---

std::string evidence_list(const json& lines) {
  if (!lines.is_array() || lines.empty()) return "<span class=\"dim\">—</span>";
  std::string out = "<ul class=\"evidence\">";
  std::size_t n = 0;
  for (const auto& l : lines) {
    if (n++ == lim.evidence_lines) break;
    out += "<li><code>" + esc_cut(l.is_string() ? l.get<std::string>() : l.dump()) + "</code></li>";
  }
  out += "</ul>";
  if (lines.size() > lim.evidence_lines)
    out += fmt::format("<p class=\"more\">… and {} more line{} in results.json</p>",
                       lines.size() - lim.evidence_lines,
                       lines.size() - lim.evidence_lines == 1 ? "" : "s");
  return out;
}

std::string oracle_table(const json& e) {
  const json& orcs = arr(e, "oracles");
  if (orcs.empty()) return "<p class=\"dim\">No expectations recorded.</p>";
  std::string out =
      "<table class=\"oracles\"><thead><tr><th>expectation</th><th>verdict</th><th>evidence</th>"
      "</tr></thead><tbody>";
  for (const auto& o : orcs) {
    std::string name = str(o, "name", "?");
    const verdict v = verdict_of(o);
    auto it = std::find_if(oracle_meanings().begin(), oracle_meanings().end(),
                           [&](const auto& m) { return m.first == name; });
    const std::string meaning = it != oracle_meanings().end() ? esc(it->second) : std::string();
    // What a failed expectation means is spelled out; the others say it on hover.
    out += fmt::format(
        "<tr class=\"v-{0}\"><td><b title=\"{5}\">{1}</b>{2}</td><td><span class=\"badge "
        "v-{0}\">{3}</span></td><td>{4}</td></tr>",
        verdict_key(v), esc(name),
        !meaning.empty() && lim.meanings && v == verdict::fail
            ? "<div class=\"meaning\">" + meaning + "</div>"
            : std::string(),
        verdict_label(v), evidence_list(at(o, "evidence")), meaning);
  }
  return out + "</tbody></table>";
}

std::string fault_table(const json& e) {
  const json& faults = arr(e, "faults");
  if (faults.empty()) return "<p class=\"dim\">No fault was injected.</p>";
  std::string out =
      "<table class=\"faults\"><thead><tr><th>at</th><th>source</th><th>pid</th><th>kind</th>"
      "<th>what</th></tr></thead><tbody>";
  // In the order they fired (results.json lists them by source).
  std::vector<const json*> sorted;
  for (const auto& f : faults) sorted.push_back(&f);
  std::stable_sort(sorted.begin(), sorted.end(), [](const json* a, const json* b) {
    return num_or(*a, "at_s", 0) < num_or(*b, "at_s", 0);
  });
  std::size_t n = 0;
  for (const json* fp : sorted) {
    const json& f = *fp;
    if (n++ == lim.fault_rows) break;
    auto t = num(f, "at_s");
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td><code>{}"
        "</code></td></tr>",
        t ? fmt::format("{:.3f} s", *t) : "?", esc(str(f, "source")), esc(str(f, "pid")),
        esc(str(f, "kind")), esc_cut(str(f, "what")));
  }
  out += "</tbody></table>";
  const std::size_t total =
      faults.size() + static_cast<std::size_t>(num_or(e, "faults_omitted", 0));
  if (total > lim.fault_rows)
    out += fmt::format("<p class=\"more\">… and {} more faults</p>", total - lim.fault_rows);
  // How often each fault fired, when the log above cannot show them all.
  const json& counts = arr(e, "fault_counts");
  if (total > lim.fault_rows && !counts.empty()) {
    out +=
        "<table class=\"faults\"><thead><tr><th>fired</th><th>first</th><th>last</th>"
        "<th>kind</th><th>what</th></tr></thead><tbody>";
    std::size_t n = 0;
    for (const auto& c : counts) {
      if (n++ == lim.fault_rows) break;
      out += fmt::format(
          "<tr><td class=\"num\">{}</td><td class=\"num\">{:.3f} s</td><td class=\"num\">{:.3f} "
          "s</td><td>{}</td><td><code>{}</code></td></tr>",
          esc(str(c, "count")), num_or(c, "first_s", 0), num_or(c, "last_s", 0),
          esc(str(c, "kind")), esc_cut(str(c, "what")));
    }
    out += "</tbody></table>";
  }
  return out;
}

// --- Latency histogram. ---

std::string latency_svg(const json& lat) {
  if (!lat.is_object()) return "";
  std::vector<std::pair<double, double>> b;  // le_ms, count
  for (const auto& x : arr(lat, "buckets")) {
    auto le = num(x, "le_ms");
    auto n = num(x, "count");
    if (le && n) b.emplace_back(*le, *n);
  }
  std::string stats = fmt::format(
      "<p class=\"stats\">{} calls · mean {} · <b>p50 {}</b> · p90 {} · p99 {} · max {}</p>",
      c(num_or(lat, "count", 0)), ms_text(num_or(lat, "mean_ms", 0)),
      ms_text(num_or(lat, "p50_ms", 0)), ms_text(num_or(lat, "p90_ms", 0)),
      ms_text(num_or(lat, "p99_ms", 0)), ms_text(num_or(lat, "max_ms", 0)));
  // Drop empty buckets at either end; first_lo: the lower bound of the first kept.
  double first_lo = 0;
  while (!b.empty() && b.front().second == 0) {
    first_lo = b.front().first;
    b.erase(b.begin());
  }
  while (!b.empty() && b.back().second == 0) b.pop_back();
  if (b.empty()) return stats;
  const double width = 470, height = 170, x0 = 44, x1 = width - 30, top = 10, base = 130;
  double maxc = 0;
  for (const auto& [le, n] : b) maxc = std::max(maxc, n);
  const double bw = (x1 - x0) / b.size();
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"latency histogram\">",
      c(width), c(height));
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text class=\"tick end\" "
      "x=\"{3}\" y=\"{4}\">{5}</text><text class=\"tick end\" x=\"{3}\" y=\"{2}\">0</text>",
      c(x0), c(x1), c(base), c(x0 - 4), c(top + 8), c(maxc));
  std::size_t label_every = std::max<std::size_t>(1, (b.size() + 5) / 6);
  for (std::size_t i = 0; i < b.size(); ++i) {
    double h = maxc > 0 ? (base - top) * b[i].second / maxc : 0;
    double lo = i == 0 ? first_lo : b[i - 1].first;
    out += fmt::format(
        "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}–{}: {} "
        "calls</title></rect>",
        c(x0 + i * bw + 1), c(base - h), c(std::max(1.0, bw - 2)), c(h), ms_text(lo),
        ms_text(b[i].first), c(b[i].second));
    if (i % label_every == 0 || i + 1 == b.size())
      out += fmt::format("<text class=\"tick\" x=\"{}\" y=\"{}\">{}</text>", c(x0 + (i + 1) * bw),
                         c(base + 13), ms_text(b[i].first));
  }
  // Percentiles: placed inside their bucket on a log scale.
  auto x_of = [&](double v) {
    for (std::size_t i = 0; i < b.size(); ++i) {
      if (v <= b[i].first) {
        double lo = i > 0 ? b[i - 1].first : first_lo > 0 ? first_lo : b[0].first / 2;
        double f = lo > 0 && b[i].first > lo
                       ? std::clamp(std::log(v / lo) / std::log(b[i].first / lo), 0.0, 1.0)
                       : 1.0;
        return x0 + (i + f) * bw;
      }
    }
    return x1;
  };
  double label_y = top + 8;
  for (const char* p : {"p50", "p90", "p99"}) {
    auto v = num(lat, (std::string(p) + "_ms").c_str());
    if (!v || !(*v > 0)) continue;
    double x = x_of(*v);
    out += fmt::format(
        "<line class=\"pct\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text class=\"pct\" "
        "x=\"{3}\" y=\"{4}\">{5}</text>",
        c(x), c(top), c(base), c(x + 3), c(label_y), p);
    label_y += 11;
  }
  out += fmt::format(
      "<text class=\"tick\" x=\"{}\" y=\"{}\">calls per latency bucket (log-spaced; labels are "
      "bucket upper bounds)</text>",
      c((x0 + x1) / 2), c(height - 4));
  return stats + out + "</svg>";
}

// --- Resource charts. ---

std::string line_chart(const json& e, const json& samples, const char* field, double scale,
                       const char* title, const char* unit, std::optional<double> baseline) {
  std::vector<std::pair<double, double>> pts;
  for (const auto& s : samples) {
    auto t = num(s, "t");
    auto v = num(s, field);
    if (t && v) pts.emplace_back(*t, *v * scale);
  }
  if (pts.empty()) return "";
  const double width = 470, height = 160, x0 = 52, x1 = width - 14, top = 22, base = 140;
  double span = std::max(span_of(e), pts.back().first);
  double vmax = 0, vmin = std::numeric_limits<double>::max();
  for (const auto& [t, v] : pts) vmax = std::max(vmax, v), vmin = std::min(vmin, v);
  if (baseline) vmax = std::max(vmax, *baseline * scale), vmin = std::min(vmin, *baseline * scale);
  double lo = std::max(0.0, vmin - (vmax - vmin) * 0.1);
  if (vmax - lo < 1e-9) vmax = lo + 1;
  double hi = vmax + (vmax - lo) * 0.05;
  const double sx = (x1 - x0) / span;
  auto y_of = [&](double v) { return base - (v - lo) / (hi - lo) * (base - top); };
  // As many decimals as the range needs to tell the labels apart.
  auto value = [&](double v) {
    return fmt::format("{:.{}f}", v, hi - lo >= 20 ? 0 : hi - lo >= 2 ? 1 : 2);
  };
  std::string out = fmt::format(
      "<svg class=\"chart\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\" role=\"img\" "
      "aria-label=\"{2}\">",
      c(width), c(height), title, c(x0));
  out += time_axis(x0, sx, span, top, base, true, 6);
  for (double v : {lo, (lo + hi) / 2, hi})
    out += fmt::format("<text class=\"tick end\" x=\"{}\" y=\"{}\">{}</text>", c(x0 - 4),
                       c(v == lo ? y_of(v) : y_of(v) + 3), value(v));
  out += overlay(e, x0, sx, span, top, base);
  if (baseline)
    out += fmt::format(
        "<line class=\"baseline\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"><title>baseline {3} "
        "{4}</title></line>",
        c(x0), c(x1), c(y_of(*baseline * scale)), c(*baseline * scale), unit);
  std::size_t step =
      std::max<std::size_t>(1, (pts.size() + lim.chart_points - 1) / lim.chart_points);
  std::string poly;
  for (std::size_t i = 0; i < pts.size(); i += step)
    poly += c(x0 + pts[i].first * sx) + "," + c(y_of(pts[i].second)) + " ";
  if ((pts.size() - 1) % step != 0)
    poly += c(x0 + pts.back().first * sx) + "," + c(y_of(pts.back().second));
  out += "<polyline class=\"series\" points=\"" + poly + "\"/>";
  out += fmt::format("<text class=\"tick end\" x=\"{}\" y=\"{}\">max {} {}</text>", c(x1), c(13),
                     value(vmax), unit);
  return out + "</svg>";
}

// --- Page parts. ---

std::string verdict_badge(verdict v) {
  return fmt::format("<span class=\"badge v-{}\">{}</span>", verdict_key(v), verdict_label(v));
}

std::string entry_title(const json& e) {
  std::string t =
      esc(str(e, "name", "?")) + " <span class=\"dim\">on " + esc(column_of(e).label) + "</span>";
  auto rep = num(e, "repeat");
  if (rep && *rep > 1) t += fmt::format(" <span class=\"dim\">· repeat {}</span>", c(*rep));
  return t;
}

const json* first_failed_oracle(const json& e) {
  for (const auto& o : arr(e, "oracles"))
    if (verdict_of(o) == verdict::fail) return &o;
  return nullptr;
}

std::string rerun_block(const json& e) {
  std::string r = str(e, "rerun");
  if (r.empty()) return "";
  return "<pre class=\"rerun\"><code>" + esc(r) + "</code></pre>";
}

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
// "built-in mux: 41 passed · Mitogen 0.3.3: 17 passed, 8 not applicable,
// 14 failed": a run with several targets judged per target, since a
// failure against Mitogen is a finding about Mitogen, not about the mux.
std::string per_target_line(const json& run) {
  std::map<std::string, std::pair<column, counts>> by;
  for (const auto& e : arr(run, "scenarios")) {
    column c = column_of(e);
    auto& [col, n] = by.try_emplace(c.key, c, counts{}).first->second;
    n.add(verdict_of(e));
  }
  if (by.size() < 2) return "";
  std::vector<std::pair<column, counts>> cols;
  cols.reserve(by.size());
  for (auto& [k, v] : by) cols.push_back(v);
  std::stable_sort(cols.begin(), cols.end(),
                   [](const auto& a, const auto& b) { return a.first.order < b.first.order; });
  std::string out;
  for (const auto& [c, n] : cols) {
    std::vector<std::string> parts;
    if (n.pass) parts.push_back(fmt::format("{} passed", n.pass));
    if (n.na) parts.push_back(fmt::format("{} not applicable", n.na));
    if (n.fail) parts.push_back(fmt::format("{} failed", n.fail));
    if (n.error) parts.push_back(fmt::format("{} could not run", n.error));
    std::string joined;
    for (const auto& p : parts) joined += (joined.empty() ? "" : ", ") + p;
    out += (out.empty() ? "" : " · ") + esc(c.label) + ": " + joined;
  }
  return out;
}

counts count_run(const json& run) {
  counts n;
  for (const auto& e : arr(run, "scenarios")) n.add(verdict_of(e));
  return n;
}

std::string host_line(const json& run) {
  const json& h = at(at(run, "run"), "host");
  std::vector<std::string> parts;
  if (auto k = str(h, "kernel"); !k.empty()) parts.push_back(k);
  if (auto n = num(h, "cores")) parts.push_back(fmt::format("{} cores", c(*n)));
  if (auto n = num(h, "somaxconn")) parts.push_back(fmt::format("somaxconn {}", c(*n)));
  const json& nf = at(h, "rlimit_nofile");
  if (nf.is_object()) {
    auto lim = [&](const char* k) {
      auto v = num(nf, k);
      return !v ? std::string("?") : *v < 0 ? std::string("unlimited") : c(*v);
    };
    parts.push_back("RLIMIT_NOFILE " + lim("soft") + "/" + lim("hard"));
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : " · ") + esc(p);
  return out;
}

std::string libraries_line(const json& run) {
  const json& h = at(at(run, "run"), "host");
  std::string out;
  if (auto cc = str(h, "compiler"); !cc.empty()) out = esc(cc);
  const json& libs = at(h, "libraries");
  if (libs.is_object())
    for (const auto& [k, v] : libs.items())
      out += (out.empty() ? "" : " · ") + esc(k) + " " +
             esc(v.is_string() ? (v.get<std::string>().empty() ? "absent" : v.get<std::string>())
                               : v.dump());
  return out;
}

std::string short_rev(const std::string& rev) {
  return rev.size() > 12 ? rev.substr(0, 12) : rev;
}

std::string summary_section(const json& run, std::size_t runs_given) {
  const json& r = at(run, "run");
  counts n = count_run(run);
  std::string out =
      "<section id=\"summary\"><h2>Summary</h2><p class=\"intro\">faultmux runs scenarios "
      "against a connection multiplexer (its built-in mux, or Mitogen 0.3.3's): each starts the "
      "mux and worker processes, injects faults (failing system calls, signals, hostile clients, "
      "exhausted file descriptors) and checks expectations about what must survive them. Every "
      "run can be repeated exactly with the command shown beside it. <a href=\"#legend\">How to "
      "read this report</a>.</p><div class=\"cards\">";
  auto card = [&](const char* cls, int v, const char* label) {
    out += fmt::format("<div class=\"card {}\"><div class=\"big\">{}</div>{}</div>", cls, v, label);
  };
  card("pass", n.pass, "passed");
  card(n.fail ? "fail" : "zero", n.fail, "failed");
  card(n.error ? "error" : "zero", n.error, "could not run");
  card("na", n.na, "not applicable");
  out += fmt::format(
      "<div class=\"card time\"><div class=\"big\">{}</div>total time</div></div>",
      esc(seconds(num_or(r, "duration_s", num_or(at(run, "summary"), "duration_s", 0)))));
  out += "<table class=\"kv\">";
  auto kv = [&](const char* k, const std::string& v_html) {
    if (!v_html.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k, v_html);
  };
  kv("started", esc(str(r, "started", "?")) + " (UTC)");
  const json& seed = at(r, "seed");
  kv("seed", seed.is_number() ? esc(seed.dump())
                              : std::string("each scenario's own (shown with each scenario)"));
  kv("command", "<code>" + esc(str(r, "command_line")) + "</code>");
  std::string rev = str(at(r, "host"), "git_revision");
  kv("revision", rev.empty() ? std::string("unknown") : "<code>" + esc(rev) + "</code>");
  kv("host", host_line(run));
  kv("built with", libraries_line(run));
  kv("schema", esc(str(run, "schema")));
  kv("by target", per_target_line(run));
  if (runs_given > 1)
    kv("history", fmt::format("<a href=\"#history\">{} runs compared</a>", runs_given));
  out += "</table>";

  // Failures first: what failed, why, and how to rerun it.
  const json& sc = arr(run, "scenarios");
  std::string fails;
  for (std::size_t i = 0; i < sc.size(); ++i) {
    const json& e = sc[i];
    const verdict v = verdict_of(e);
    if (!is_failure(v)) continue;
    fails += fmt::format("<li class=\"failure\"><a href=\"#{}\">{}</a> {}{}", anchor(i),
                         entry_title(e), verdict_badge(v),
                         column_of(e).key.rfind("legacy:", 0) == 0 && v == verdict::fail
                             ? " <span class=\"caught\">the re-enabled bug was caught</span>"
                             : "");
    if (const json* o = first_failed_oracle(e)) {
      fails += "<div>expectation <b>" + esc(str(*o, "name")) + "</b> failed:</div>";
      json ev = json::array();
      for (const auto& l : arr(*o, "evidence")) {
        if (ev.size() == 4) break;
        ev.push_back(l);
      }
      fails += evidence_list(ev);
      if (arr(*o, "evidence").size() > 4)
        fails += fmt::format("<p class=\"more\">… {} more lines in the details</p>",
                             arr(*o, "evidence").size() - 4);
    }
    fails += "<div class=\"dim\">rerun:</div>" + rerun_block(e) + "</li>";
  }
  if (!fails.empty())
    out += "<h3>Failures</h3>" +
           std::string(per_target_line(run).empty()
                           ? ""
                           : "<p class=\"dim\">A failure against Mitogen 0.3.3 or with a "
                             "re-enabled legacy bug is a finding about that target, judged by "
                             "the same expectations as the built-in mux.</p>") +
           "<ol class=\"failures\">" + fails + "</ol>";
  else if (!sc.empty())
    out += "<p class=\"allgood\">Every scenario passed.</p>";
  return out + "</section>";
}

std::string matrix_section(const json& run, const std::vector<history_row>& history) {
  matrix_layout m = layout_of(run);
  auto cells = cells_of(run);
  std::map<std::string, bool> flaky;
  for (const auto& h : history) flaky[cell_key(h.scenario, h.column)] = h.flaky;
  std::string out =
      "<section id=\"matrix\"><h2>Scenarios × targets</h2><p class=\"note\">Each cell is one "
      "scenario run against one target; click it for the details. Legacy-bug columns run the "
      "built-in mux with a historical Mitogen bug re-enabled on purpose: there a failure means "
      "the suite <i>caught</i> the bug.</p><table class=\"matrix\"><thead><tr><th>scenario</th>";
  for (const auto& col : m.columns) out += "<th>" + esc(col.label) + "</th>";
  out += "</tr></thead><tbody>";
  const json& sc = arr(run, "scenarios");
  for (const auto& name : m.rows) {
    out += "<tr><th class=\"sname\">" + esc(name) + "</th>";
    for (const auto& col : m.columns) {
      auto it = cells.find(cell_key(name, col.key));
      if (it == cells.end()) {
        out += fmt::format(
            "<td class=\"cell none\" data-scenario=\"{}\" data-target=\"{}\" "
            "data-verdict=\"not-run\" title=\"not run in this report\">·</td>",
            esc(name), esc(col.key));
        continue;
      }
      const cell& cl = it->second;
      const std::string v = cl.key();
      std::size_t link = cl.entries.front();
      for (std::size_t i : cl.entries)
        if (verdict_of(sc[i]) != verdict::pass) {
          link = i;
          break;
        }
      std::string text = verdict_label(cl.overall());
      if (cl.entries.size() > 1)
        text = fmt::format("{} {}/{}", v == "pass" ? "pass" : "FAIL", cl.pass, cl.entries.size());
      bool is_flaky = cl.mixed() || flaky[cell_key(name, col.key)];
      // With a legacy bug re-enabled, a failure is the suite catching it.
      if (col.key.rfind("legacy:", 0) == 0 && v == "fail")
        text += " <span class=\"caught\">bug caught</span>";
      if (is_flaky) text += " <span class=\"flaky\">flaky</span>";
      std::string why;
      if (const json* o = first_failed_oracle(sc[link])) why = ": " + str(*o, "name");
      out += fmt::format(
          "<td class=\"cell v-{0}\" data-scenario=\"{1}\" data-target=\"{2}\" "
          "data-verdict=\"{0}\"{3}><a href=\"#{4}\" title=\"{5}\">{6}</a></td>",
          esc(v), esc(name), esc(col.key), is_flaky ? " data-flaky=\"true\"" : "", anchor(link),
          esc(str(sc[link], "verdict") + why), text);
    }
    out += "</tr>";
  }
  return out + "</tbody></table></section>";
}

std::string legend_section() {
  auto sym = [](const std::string& kind) {
    return "<svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\">" +
           mark_shape(kind, 10, 9) + "/></svg>";
  };
  std::string out =
      "<section id=\"legend\"><h2>How to read this report</h2><div class=\"legend\"><div><h3>"
      "Timeline</h3><p>One row per process (the mux first, then contexts, then workers). The bar "
      "is the process's life, coloured by how it ended:</p><ul class=\"keys\">";
  for (const auto& o : outcome_order())
    out += fmt::format("<li><span class=\"swatch\" style=\"background:{}\"></span>{}</li>",
                       outcome_colour(o), o);
  out += "</ul><ul class=\"keys\">";
  for (const auto& [k, what] : std::vector<std::pair<std::string, std::string>>{
           {"fault", "a fault injected into this process"},
           {"error", "an error it reported"},
           {"disconnect", "its stream was disconnected"},
           {"killed", "it was killed"},
           {"stopped", "stopped (SIGSTOP)"},
           {"resumed", "resumed (SIGCONT)"},
           {"handshake", "connected / handshake done"}})
    out += "<li>" + sym(k) + esc(what) + "</li>";
  out +=
      "<li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><path "
      "class=\"calls\" d=\"M10,5v8\"/></svg>a call or message round trip</li>"
      "<li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><line "
      "class=\"faultline\" x1=\"10\" x2=\"10\" y1=\"0\" y2=\"18\"/></svg>when a fault fired "
      "(across "
      "all rows)</li><li><svg class=\"sym\" viewBox=\"0 0 20 18\" width=\"20\" height=\"18\"><rect "
      "class=\"window\" x=\"2\" y=\"0\" width=\"16\" height=\"18\"/></svg>a fault window (e.g. the "
      "mux stopped, its fd limit lowered)</li></ul><p>Hover a symbol for its time and text. All "
      "times are seconds from the scenario's first event.</p></div><div><h3>Expectations "
      "(oracles)</h3><dl class=\"meanings\">";
  for (const auto& [k, v] : oracle_meanings())
    out += "<dt>" + esc(k) + "</dt><dd>" + esc(v) + "</dd>";
  out +=
      "</dl><p>A scenario passes when no expectation fails; <i>n/a</i> means the expectation "
      "does not apply to that scenario or target (Mitogen does not log what only the built-in mux "
      "records).</p><h3>Rerunning</h3><p>Each scenario shows the exact command that reruns it "
      "with the same seed, target and legacy bugs, from the checkout's root: "
      "<code>faultmux run scenarios/NAME.toml --seed N</code>. Add <code>-v</code> to print "
      "every expectation's evidence and keep the run directory. "
      "<code>faultmux shrink FILE</code> reduces a failing scenario.</p></div></div></section>";
  return out;
}

std::string detail_section(const json& e, std::size_t id) {
  const verdict v = verdict_of(e);
  std::string out = fmt::format(
      "<section class=\"detail v-{}\" id=\"{}\" data-scenario=\"{}\" data-target=\"{}\"><h3>{} "
      "{}</h3>",
      verdict_key(v), anchor(id), esc(str(e, "name")), esc(column_of(e).key), entry_title(e),
      verdict_badge(v));
  if (auto d = str(e, "description"); !d.empty()) out += "<p class=\"desc\">" + esc(d) + "</p>";
  out += "<table class=\"kv\">";
  auto kv = [&](const char* k, const std::string& html) {
    if (!html.empty()) out += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k, html);
  };
  kv("file", esc(str(e, "file")));
  kv("origin", esc(str(e, "origin")));
  kv("seed", esc(str(e, "seed")));
  if (auto d = num(e, "duration_s")) kv("duration", esc(seconds(*d)));
  const json& w = at(e, "workers");
  if (auto t = num(w, "total"); t && *t > 0)
    kv("workers", fmt::format("{} started in {}", c(*t), ms_text(num_or(w, "spawn_ms", 0))));
  std::string bugs;
  for (const auto& b : arr(e, "legacy_bugs"))
    if (b.is_string()) bugs += (bugs.empty() ? "" : ", ") + esc(b.get<std::string>());
  if (!bugs.empty())
    kv("legacy bugs", bugs + " (re-enabled on purpose: a failure here is a catch)");
  out += "</table>";
  out += rerun_block(e);

  std::string tl = timeline_svg(e, id);
  if (!tl.empty()) {
    out += "<h4>Timeline</h4>";
    std::string wins;
    for (const auto& x : windows_of(e))
      wins += (wins.empty() ? "" : "; ") +
              fmt::format("{:.3f}–{:.3f} s: {}", x.from, x.to, esc_cut(x.what, 120));
    if (!wins.empty()) out += "<p class=\"note\">Shaded: " + wins + "</p>";
    out += "<div class=\"scroll\">" + tl + "</div>";
  }
  out += "<h4>Expectations</h4>" + oracle_table(e);
  out += "<h4>Fault log</h4>" + fault_table(e);
  std::string lat = latency_svg(at(e, "latency"));
  const json& res = at(e, "resources");
  std::optional<double> base = num(res, "baseline_fds");
  std::string fds = line_chart(e, arr(res, "samples"), "fds", 1, "mux open fds", "fds", base);
  std::string rss =
      line_chart(e, arr(res, "samples"), "rss_kib", 1.0 / 1024, "mux RSS (MiB)", "MiB", {});
  if (!lat.empty() || !fds.empty()) {
    out += "<div class=\"plots\">";
    if (!lat.empty()) out += "<div><h4>Latency</h4>" + lat + "</div>";
    const std::string sampled =
        fmt::format("sampled every {} ms (pid {}); shaded: fault windows",
                    esc(str(res, "interval_ms", "?")), esc(str(res, "pid", "?")));
    if (!fds.empty())
      out += "<div><h4>Mux open fds</h4><p class=\"stats\">" + sampled +
             "; dashed: before any worker</p>" + fds + "</div>";
    if (!rss.empty())
      out += "<div><h4>Mux RSS (MiB)</h4><p class=\"stats\">" + sampled + "</p>" + rss + "</div>";
    out += "</div>";
  }
  return out + "<p class=\"top\"><a href=\"#matrix\">↑ matrix</a></p></section>";
}

std::string sparkline(const std::vector<std::optional<double>>& d) {
  double hi = 0;
  std::size_t n = 0;
  for (const auto& v : d)
    if (v) hi = std::max(hi, *v), ++n;
  if (n == 0) return "";
  const double w = 120, h = 22;
  const double step = d.size() > 1 ? (w - 4) / (d.size() - 1) : 0;
  std::string pts, dots;
  for (std::size_t i = 0; i < d.size(); ++i) {
    if (!d[i]) continue;
    double x = 2 + i * step, y = h - 3 - (hi > 0 ? *d[i] / hi * (h - 6) : 0);
    pts += c(x) + "," + c(y) + " ";
    if (i + 1 == d.size()) dots = fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2\"/>", c(x), c(y));
  }
  return fmt::format(
      "<svg class=\"spark\" viewBox=\"0 0 {0} {1}\" width=\"{0}\" height=\"{1}\"><title>duration "
      "per run, oldest first; max {2}</title><polyline points=\"{3}\"/>{4}</svg>",
      c(w), c(h), esc(seconds(hi)), pts, dots);
}

// The sparkline and the newest duration beside it.
std::string trend(const std::vector<std::optional<double>>& d) {
  std::string out = sparkline(d);
  for (auto it = d.rbegin(); it != d.rend(); ++it)
    if (*it) return out + " <span class=\"dim\">" + esc(seconds(**it)) + "</span>";
  return out;
}

std::string history_section(const std::vector<json>& runs, const std::vector<history_row>& hist) {
  std::string out = fmt::format(
      "<section id=\"history\"><h2>History of {} runs</h2><p class=\"note\">Pass rate counts "
      "every run and repeat of a scenario on a target. <span class=\"flaky\">flaky</span>: it "
      "both passed and failed with the same seed. The strip shows each run, oldest first; the "
      "sparkline its duration.</p><table class=\"history\"><thead><tr><th>scenario</th>"
      "<th>target</th><th>pass rate</th><th>runs</th><th>duration trend</th></tr></thead><tbody>",
      runs.size());
  std::map<std::string, std::string> labels;
  for (const auto& r : runs)
    for (const auto& e : arr(r, "scenarios")) labels[column_of(e).key] = column_of(e).label;
  for (const auto& h : hist) {
    double rate = h.pass_rate();
    const bool legacy = h.column.rfind("legacy:", 0) == 0;
    std::string strip;
    for (std::size_t i = 0; i < h.verdicts.size(); ++i) {
      const std::string& v = h.verdicts[i];
      strip += fmt::format("<span class=\"run v-{}\" title=\"run {}: {}\"></span>",
                           v.empty() ? "none" : esc(v), i + 1, v.empty() ? "not run" : esc(v));
    }
    out += fmt::format(
        "<tr data-scenario=\"{}\" data-target=\"{}\" data-pass-rate=\"{:.3f}\"{}><th "
        "class=\"sname\">{}</th><td>{}</td><td><span class=\"rate\"><span style=\"width:{:.0f}%\">"
        "</span></span> {:.0f}% ({}/{}){}{}</td><td class=\"strip\">{}</td><td "
        "class=\"trend\">{}</td></tr>",
        esc(h.scenario), esc(h.column), rate, h.flaky ? " data-flaky=\"true\"" : "",
        esc(h.scenario), esc(labels.count(h.column) ? labels[h.column] : h.column), rate * 100,
        rate * 100, h.passes, h.passes + h.failures,
        legacy && h.failures ? fmt::format(" <span class=\"caught\">bug caught {}/{}</span>",
                                           h.failures, h.passes + h.failures)
                             : std::string(),
        h.flaky ? " <span class=\"flaky\">flaky</span>" : "", strip, trend(h.durations));
  }
  out +=
      "</tbody></table><h3>Runs</h3><table class=\"runs\"><thead><tr><th>#</th><th>started "
      "(UTC)</th><th>revision</th><th>passed</th><th>failed</th><th>could not run</th><th>"
      "duration</th><th>command</th></tr></thead><tbody>";
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const json& r = at(runs[i], "run");
    counts n = count_run(runs[i]);
    out += fmt::format(
        "<tr><td class=\"num\">{}</td><td>{}</td><td><code>{}</code></td><td class=\"num\">{}"
        "</td><td class=\"num{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>"
        "<code>{}</code></td></tr>",
        i + 1, esc(str(r, "started", "?")),
        esc(short_rev(str(at(r, "host"), "git_revision", "")).empty()
                ? std::string("—")
                : short_rev(str(at(r, "host"), "git_revision"))),
        n.pass, n.fail ? " bad" : "", n.fail, n.error, esc(seconds(num_or(r, "duration_s", 0))),
        esc_cut(str(r, "command_line"), 200));
  }
  return out + "</tbody></table></section>";
}

void put_utf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  const char* replacement = "\xef\xbf\xbd";
  for (std::size_t i = 0; i < s.size();) {
    auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      switch (b) {
        case '<':
          out += "&lt;";
          break;
        case '>':
          out += "&gt;";
          break;
        case '&':
          out += "&amp;";
          break;
        case '"':
          out += "&quot;";
          break;
        case '\'':
          out += "&#39;";
          break;
        case '\t':
        case '\n':
          out += static_cast<char>(b);
          break;
        default:
          if (b < 0x20 || b == 0x7f)
            out += replacement;
          else
            out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    // A multi-byte sequence: kept only when it is well-formed UTF-8.
    int len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
    if (len == 0 || i + len > s.size()) {
      out += replacement;
      ++i;
      continue;
    }
    char32_t cp = b & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    bool ok = true;
    for (int k = 1; k < len; ++k) {
      auto cb = static_cast<unsigned char>(s[i + k]);
      if ((cb & 0xC0) != 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (cb & 0x3F);
    }
    if (ok && ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
               (len == 4 && (cp < 0x10000 || cp > 0x10FFFF))))
      ok = false;
    if (!ok) {
      out += replacement;
      ++i;
      continue;
    }
    put_utf8(out, cp);
    i += len;
  }
  return out;
}

std::optional<json> load_results(const std::string& path, std::string* why) {
  auto fail = [&](const std::string& what) -> std::optional<json> {
    if (why) *why = path + ": " + what;
    return std::nullopt;
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail("is a directory (give the results.json in it)");
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    return fail(fmt::format("cannot read: {} ({})", std::strerror(err),
                            strerrorname_np(err) ? strerrorname_np(err) : "?"));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  json doc;
  try {
    doc = json::parse(buf.str());
  } catch (const json::parse_error& e) {
    return fail(std::string("not valid JSON: ") + e.what());
  }
  if (!doc.is_object())
    return fail("not a faultmux results document: the top level is not an object");
  std::string schema = str(doc, "schema");
  if (schema.rfind("faultmux-results/", 0) != 0)
    return fail("not a faultmux results document: \"schema\" is " +
                (at(doc, "schema").is_null() ? std::string("missing") : at(doc, "schema").dump()) +
                ", expected \"faultmux-results/N\"");
  if (!at(doc, "run").is_object())
    return fail("not a faultmux results document: no \"run\" object");
  if (!at(doc, "scenarios").is_array())
    return fail("not a faultmux results document: no \"scenarios\" array");
  for (const auto& e : at(doc, "scenarios"))
    if (!e.is_object() || !at(e, "name").is_string())
      return fail("not a faultmux results document: a scenarios[] entry without a \"name\"");
  return doc;
}

json history_only(const json& run) {
  json out = {{"schema", at(run, "schema")}, {"run", json::object()}, {"scenarios", json::array()}};
  const json& r = at(run, "run");
  for (const char* k : {"started", "duration_s", "command_line", "seed"})
    if (r.is_object() && r.contains(k)) out["run"][k] = r[k];
  if (const json& rev = at(at(r, "host"), "git_revision"); !rev.is_null())
    out["run"]["host"] = {{"git_revision", rev}};
  for (const auto& e : arr(run, "scenarios")) {
    json x = json::object();
    for (const char* k :
         {"name", "target", "legacy_bugs", "verdict", "seed", "repeat", "duration_s", "file"})
      if (e.is_object() && e.contains(k)) x[k] = e[k];
    out["scenarios"].push_back(std::move(x));
  }
  return out;
}

std::vector<json> order_runs(std::vector<json> runs) {
  std::stable_sort(runs.begin(), runs.end(), [](const json& a, const json& b) {
    return str(at(a, "run"), "started") < str(at(b, "run"), "started");
  });
  return runs;
}

std::vector<history_row> compute_history(const std::vector<json>& runs) {
  std::vector<history_row> rows;
  std::map<std::string, std::size_t> index;
  // seed -> {passes, failures} per row, across runs and repeats.
  std::map<std::string, std::map<std::string, std::pair<int, int>>> by_seed;
  // Rows in the newest run's order, then those only older runs have.
  std::vector<std::size_t> order;
  for (std::size_t k = runs.size(); k-- > 0;)
    for (const auto& e : arr(runs[k], "scenarios")) {
      std::string key = cell_key(str(e, "name", "?"), column_of(e).key);
      if (index.count(key)) continue;
      index[key] = rows.size();
      history_row h;
      h.scenario = str(e, "name", "?");
      h.column = column_of(e).key;
      h.durations.assign(runs.size(), std::nullopt);
      h.verdicts.assign(runs.size(), "");
      rows.push_back(std::move(h));
    }
  for (std::size_t k = 0; k < runs.size(); ++k) {
    std::map<std::size_t, std::pair<double, int>> dur;  // row -> sum, n
    for (const auto& e : arr(runs[k], "scenarios")) {
      std::string key = cell_key(str(e, "name", "?"), column_of(e).key);
      std::size_t r = index[key];
      history_row& h = rows[r];
      const verdict v = verdict_of(e);
      if (v == verdict::not_applicable) continue;
      const bool pass = v == verdict::pass;
      (pass ? h.passes : h.failures)++;
      auto& ps = by_seed[key][str(e, "seed")];
      (pass ? ps.first : ps.second)++;
      std::string& rv = h.verdicts[k];
      rv = rv.empty() || rv == verdict_key(v) ? verdict_key(v) : "mixed";
      if (auto d = num(e, "duration_s")) {
        dur[r].first += *d;
        dur[r].second++;
      }
    }
    for (const auto& [r, sn] : dur) rows[r].durations[k] = sn.first / sn.second;
    for (auto& h : rows)
      if (!h.verdicts[k].empty()) ++h.runs_seen;
  }
  for (auto& h : rows)
    for (const auto& [seed, pf] : by_seed[cell_key(h.scenario, h.column)])
      if (pf.first > 0 && pf.second > 0) h.flaky = true;
  return rows;
}

namespace {

std::string render_page(const std::vector<json>& runs, bool compact);

}  // namespace

std::string render_html(const std::vector<json>& given) {
  std::vector<json> runs = order_runs(given);
  lim = normal_limits;
  std::string page = render_page(runs, false);
  if (page.size() > page_budget) {
    lim = compact_limits;
    page = render_page(runs, true);
    lim = normal_limits;
  }
  return page;
}

namespace {

std::string render_page(const std::vector<json>& runs, bool compact) {
  static const json no_run = {
      {"schema", ""}, {"run", json::object()}, {"scenarios", json::array()}};
  const json& run = runs.empty() ? no_run : runs.back();
  // Repeats of the newest run are judged for flakiness too.
  std::vector<history_row> hist = compute_history(runs.empty() ? std::vector<json>{} : runs);
  const json& r = at(run, "run");
  counts n = count_run(run);
  std::string title =
      fmt::format("faultmux report {} — {} passed, {} failed{}", str(r, "started", ""), n.pass,
                  n.fail, n.error ? fmt::format(", {} could not run", n.error) : "");
  std::string out;
  out.reserve(std::size_t{256} * 1024);
  out +=
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" "
      "content=\"width=device-width, initial-scale=1\"><title>" +
      esc(title) + "</title><style>" + std::string(page_css) + "</style></head><body>";
  out += fmt::format(
      "<header><h1>faultmux reliability report</h1><p class=\"sub\">{} · revision <code>{}</code>"
      " · <span class=\"{}\">{}</span></p><nav><a href=\"#summary\">Summary</a><a "
      "href=\"#matrix\">Matrix</a>{}<a href=\"#details\">Details</a><a href=\"#legend\">How to "
      "read</a></nav></header><main>",
      esc(str(r, "started", "unknown start")),
      str(at(r, "host"), "git_revision").empty()
          ? std::string("unknown")
          : esc(short_rev(str(at(r, "host"), "git_revision"))),
      n.fail || n.error ? "bad" : "good",
      !per_target_line(run).empty() ? per_target_line(run)
      : n.fail || n.error
          ? fmt::format("{} of {} failed", n.fail + n.error, arr(run, "scenarios").size())
          : std::string("all passed"),
      runs.size() > 1 ? "<a href=\"#history\">History</a>" : "");
  if (compact)
    out +=
        "<p class=\"compact\">This run is large: the page shows fewer timeline rows, marks and "
        "evidence lines than usual to stay small. results.json has everything.</p>";
  out += summary_section(run, runs.size());
  out += matrix_section(run, hist);
  if (runs.size() > 1) out += history_section(runs, hist);
  out += "<section id=\"details\"><h2>Details</h2>";
  const json& sc = arr(run, "scenarios");
  // Failures first, so a reader scrolling lands on them.
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < sc.size(); ++i)
    if (verdict_of(sc[i]) != verdict::pass) order.push_back(i);
  for (std::size_t i = 0; i < sc.size(); ++i)
    if (verdict_of(sc[i]) == verdict::pass) order.push_back(i);
  for (std::size_t i : order) out += detail_section(sc[i], i);
  out += "</section>";
  out += legend_section();
  out +=
      "</main><footer>Rendered by <code>faultmux report</code> from results.json alone (schema " +
      esc(str(run, "schema")) + ").</footer></body></html>\n";
  return out;
}

}  // namespace

std::string write_html(const std::vector<json>& runs, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot create {}: {}", dir, ec.message());
  const std::string path = dir + "/index.html";
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
    out << render_html(runs);
    if (!out.flush()) return fmt::format("cannot write {}: {}", tmp, std::strerror(errno));
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fmt::format("cannot rename {} to {}: {}", tmp, path, ec.message());
  return "";
}

}  // namespace faultmux::reports
