#include "reports/html_parts.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include <fmt/format.h>

namespace faultmux::reports::html_parts {

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
std::string str(const json& j, const char* key, const std::string& def) {
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
std::string esc_cut(std::string_view s, std::size_t limit) {
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

column column_of(const json& e) {
  // A merged report's entry names its own column (merge_runs).
  if (const json& own = at(e, "column"); own.is_object())
    return {str(own, "key", "?"), str(own, "label", "?"),
            static_cast<int>(num_or(own, "order", 20))};
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
  if (t == "mitogen") {
    // "mitogen 0.3.52.dev /src/mitogen", as the launcher said it.
    std::istringstream said(str(e, "target_version", ""));
    std::string word, version, dir;
    said >> word >> version >> dir;
    if (version.empty()) return {t, "Mitogen", 1};
    const bool installed = dir.empty() || dir.starts_with("/usr/lib/python3");
    return {t, "Mitogen " + version + (installed ? "" : " (" + dir + ")"), 1};
  }
  if (t == "external") return {t, "external target", 2};
  return {t, t, 3};
}

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
    if (seen_cols.insert(col.key).second) {
      m.columns.push_back(col);
    } else if (col.label != "Mitogen" && col.key == "mitogen") {
      // The column was made before a run said which Mitogen it was.
      for (auto& c : m.columns)
        if (c.key == col.key) c.label = col.label;
    }
  }
  std::stable_sort(m.columns.begin(), m.columns.end(),
                   [](const column& a, const column& b) { return a.order < b.order; });
  return m;
}

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
  if (o == "never connected") return "#a1887f";
  if (o == "not started") return "#bdbdbd";
  if (o == "running") return "#1565c0";
  return "#757575";
}
const std::vector<std::string>& outcome_order() {
  static const std::vector<std::string> o = {
      "ok",      "exited",  "disconnected",    "killed",      "failed",
      "refused", "timeout", "never connected", "not started", "running"};
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

}  // namespace faultmux::reports::html_parts
