#include "reports/explore_html.hpp"

#include <map>
#include <set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "reports/html_parts.hpp"
#include "reports/html_style.hpp"

namespace faultmux::reports {
namespace {

using json = nlohmann::json;
using html_parts::esc;

// One cell of the map: the runs of one (phase, call) with one effect.
struct cell {
  int pass = 0, fail = 0, other = 0;  // other: not activated, error, not run
  int first_violation = -1;           // its row in the table of violations
};

std::string cell_html(const cell* x) {
  if (!x) return "<td class=\"cell none\">–</td>";
  const char* v = x->fail ? "v-fail" : x->pass ? "v-pass" : "v-na";
  std::string text = fmt::format("{} pass", x->pass);
  if (x->fail) text = fmt::format("{} fail / {}", x->fail, text);
  if (x->other) text += fmt::format(" / {} other", x->other);
  if (x->first_violation >= 0)
    return fmt::format("<td class=\"cell {}\"><a href=\"#violation-{}\">{}</a></td>", v,
                       x->first_violation, text);
  return fmt::format("<td class=\"cell {}\"><span>{}</span></td>", v, text);
}

}  // namespace

std::string render_explore_html(const json& doc) {
  const json& runs = html_parts::arr(doc, "runs");
  std::map<std::pair<std::string, std::string>, std::map<std::string, cell>> map;
  std::vector<std::string> effects;
  std::string violations;
  int nviolations = 0;
  for (const auto& r : runs) {
    const std::string effect = html_parts::str(r, "effect");
    if (std::find(effects.begin(), effects.end(), effect) == effects.end())
      effects.push_back(effect);
    cell& x = map[{html_parts::str(r, "phase"), html_parts::str(r, "call")}][effect];
    const std::string v = html_parts::str(r, "verdict");
    if (v == "pass") {
      ++x.pass;
    } else if (v == "fail" && r.value("activated", false)) {
      ++x.fail;
      if (x.first_violation < 0) x.first_violation = nviolations;
      const std::string shrunk = html_parts::str(r, "shrunk_command");
      violations += fmt::format(
          "<tr id=\"violation-{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
          "<td><code>{}</code></td><td>{}</td></tr>\n",
          nviolations, esc(html_parts::str(r, "point")), esc(effect),
          esc(html_parts::str(r, "fault_class")), esc(html_parts::str(r, "why")),
          esc(html_parts::str(r, "reproduced")), esc(html_parts::str(r, "command")),
          shrunk.empty() ? "not shrunk" : "<code>" + esc(shrunk) + "</code>");
      ++nviolations;
    } else {
      ++x.other;
    }
  }
  std::string head = "<tr><th>phase</th><th>call</th>";
  for (const auto& e : effects) head += "<th>" + esc(e) + "</th>";
  head += "</tr>\n";
  std::string rows;
  for (const auto& [key, cells] : map) {
    rows += "<tr><th>" + esc(key.first) + "</th><th>" + esc(key.second) + "</th>";
    for (const auto& e : effects) {
      auto it = cells.find(e);
      rows += cell_html(it == cells.end() ? nullptr : &it->second);
    }
    rows += "</tr>\n";
  }
  const json& c = html_parts::at(doc, "certificate");
  std::string cert;
  for (const char* k : {"points", "stable", "unstable", "classes", "explored_classes", "shard",
                        "planned", "runs", "activated", "not_activated", "errors", "violations",
                        "complete", "stopped_because", "bound"})
    if (c.contains(k))
      cert += fmt::format("<tr><th>{}</th><td>{}</td></tr>", k,
                          esc(c[k].is_string() ? c[k].get<std::string>() : c[k].dump()));
  return fmt::format(
      "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>faultmux explore "
      "{0}</title><style>{1}</style></head><body><h1>faultmux explore: {0}</h1>"
      "<p>target {2}; legacy bugs: {3}; seed {4}</p>"
      "<h2>Certificate</h2><table class=\"certificate\">{5}</table>"
      "<h2>Coverage</h2><p>Runs of each call, by its phase and the effect injected: pass, fail "
      "(a violation, linked below) and other (not activated, an error, or not run).</p>"
      "<table class=\"matrix coverage\">{6}{7}</table>"
      "<h2>Violations ({8})</h2><table class=\"violations\"><tr><th>point</th><th>effect</th>"
      "<th>class</th><th>why</th><th>reproduced</th><th>run it</th><th>shrunk, run it</th></tr>\n"
      "{9}</table>"
      "</body></html>\n",
      esc(html_parts::str(doc, "scenario")), page_css, esc(html_parts::str(doc, "target")),
      esc(doc.contains("legacy_bugs") ? doc["legacy_bugs"].dump() : "[]"),
      esc(html_parts::str(doc, "seed")), cert, head, rows, nviolations, violations);
}

}  // namespace faultmux::reports
