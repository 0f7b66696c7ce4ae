// The History section and what feeds it: earlier runs' results.json read
// back, cut to what the history needs, ordered and compared.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "reports/html.hpp"
#include "reports/html_parts.hpp"

namespace faultmux::reports {
namespace html_parts {

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

}  // namespace html_parts

namespace {

using html_parts::arr;
using html_parts::at;
using html_parts::cell_key;
using html_parts::column_of;
using html_parts::json;
using html_parts::num;
using html_parts::str;
using html_parts::verdict_key;
using html_parts::verdict_of;

}  // namespace

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

}  // namespace faultmux::reports
