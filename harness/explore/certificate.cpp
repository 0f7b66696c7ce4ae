#include "harness/explore/certificate.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>

#include "reports/explore_html.hpp"

namespace faultmux {

using json = nlohmann::json;
using reports::xml_escape;

namespace {

// Per role and per phase: planned, runs, activated and violations (a count
// is there once it is not 0); and the mean number of effects per explored
// class. The baseline's run (no fault, so no phase) is in none of them.
void count_by_role_and_phase(const json& runs, json& c) {
  json by_role = json::object(), by_phase = json::object();
  std::map<std::string, std::set<std::string>> effects_per_class;
  auto bump = [](json& j, const char* k) {
    if (!j.is_object()) j = json::object();
    j[k] = j.value(k, std::size_t{0}) + 1;
  };
  for (const auto& r : runs) {
    if (!r.contains("phase")) continue;
    // Older documents have no role: a process fault lands in a worker.
    const std::string role = r.value("role", r.value("call", "") == "process" ? "worker" : "mux");
    for (json* j : {&by_role[role], &by_phase[r.value("phase", "")]}) {
      bump(*j, "planned");
      if (!r.value("ran", false)) continue;
      bump(*j, "runs");
      if (r.value("activated", false)) bump(*j, "activated");
      if (r.value("activated", false) && r.value("verdict", "") == "fail") bump(*j, "violations");
    }
    if (r.contains("class")) effects_per_class[r.value("class", "")].insert(r.value("effect", ""));
  }
  std::size_t effects = 0;
  for (const auto& [k, e] : effects_per_class) effects += e.size();
  c["by_role"] = by_role;
  c["by_phase"] = by_phase;
  c["effects_per_class"] =
      effects_per_class.empty()
          ? 0.0
          : static_cast<double>(effects) / static_cast<double>(effects_per_class.size());
}

// The pairs of shards as one: their runs and first faults summed, the cross
// product counted again over every shard's single faults.
json merged_pairs(const std::vector<json>& shards, const json& runs) {
  json p = shards.front()["certificate"]["pairs"];
  std::size_t pair_runs = 0, two_peers = 0;
  std::map<std::string, std::size_t> first_faults;
  for (const auto& d : shards) {
    const json& sp = d["certificate"].value("pairs", json::object());
    pair_runs += sp.value("runs", std::size_t{0});
    two_peers += sp.value("not_judged_two_peers", std::size_t{0});
    // Named: items() of the temporary value() returns would outlive it.
    const json shard_first = sp.value("first_faults", json::object());
    for (const auto& [why, n] : shard_first.items()) first_faults[why] += n.get<std::size_t>();
  }
  // Of the single faults of every shard together, as an unsharded run counts it.
  std::map<std::string, std::size_t> per_point;
  std::size_t singles = 0;
  for (const auto& r : runs)
    if (!r.contains("second") && r.value("point", "") != "none") {
      ++per_point[r.value("point", "")];
      ++singles;
    }
  std::size_t same = 0;
  for (const auto& [k, n] : per_point) same += n * n;
  p["runs"] = pair_runs;
  p["not_judged_two_peers"] = two_peers;
  p["first_faults"] = first_faults;
  p["cross_product"] = (singles * singles - same) / 2;
  return p;
}

}  // namespace

void count_runs(const json& runs, json& c) {
  std::size_t ran = 0, activated = 0, not_activated = 0, errors = 0, violations = 0;
  for (const auto& r : runs) {
    if (!r.value("ran", false)) continue;
    ++ran;
    const std::string v = r.value("verdict", "");
    if (v == "error")
      ++errors;
    else if (!r.value("activated", false))
      ++not_activated;
    else
      ++activated;
    if (r.value("activated", false) && v == "fail") ++violations;
  }
  c["planned"] = runs.size();
  c["runs"] = ran;
  c["activated"] = activated;
  c["not_activated"] = not_activated;
  c["errors"] = errors;
  c["violations"] = violations;
  c["complete"] = ran == runs.size();
  count_by_role_and_phase(runs, c);
}

bool is_explore_document(const json& doc) {
  return doc.is_object() && doc.value("schema", std::string()) == explore_schema;
}

std::vector<json> explorations_in(const json& doc) {
  if (is_explore_document(doc)) {
    json e = doc;
    e.erase("schema");
    return {e};
  }
  if (!doc.is_object() || !doc.contains("explore") || !doc["explore"].is_array()) return {};
  return doc["explore"].get<std::vector<json>>();
}

json merge_explorations(const std::vector<json>& shards, std::string* why) {
  if (shards.empty()) {
    *why = "no exploration to merge";
    return {};
  }
  const json& first = shards.front();
  auto same = [&](const json& d, const char* k) {
    return d.value(k, json()) == first.value(k, json());
  };
  json runs = json::array();
  std::set<std::string> seen, classes;
  std::size_t points = 0, stable = 0, unstable = 0, all_classes = 0;
  bool complete = true;
  std::vector<std::string> stopped;
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const json& d = shards[i];
    if (!d.is_object() || !d.contains("certificate") || !d.contains("runs") ||
        !same(d, "scenario") || !same(d, "target") || !same(d, "legacy_bugs") || !same(d, "seed")) {
      *why = fmt::format(
          "{} is not a shard of the same exploration as {} (scenario, target, legacy bugs and "
          "seed must match)",
          d.value("file", std::string("a document")), first.value("file", std::string("?")));
      return {};
    }
    const json& c = d["certificate"];
    points = std::max<std::size_t>(points, c.value("points", 0));
    stable = std::max<std::size_t>(stable, c.value("stable", 0));
    unstable = std::max<std::size_t>(unstable, c.value("unstable", 0));
    all_classes = std::max<std::size_t>(all_classes, c.value("classes", 0));
    complete = complete && c.value("complete", false);
    if (c.contains("stopped_because"))
      stopped.push_back(fmt::format("shard {}: {}", c.value("shard", std::to_string(i + 1)),
                                    c.value("stopped_because", "")));
    for (const auto& r : d["runs"]) {
      std::string key = r.value("point", "") + " -> " + r.value("effect", "");
      if (const auto s = r.find("second"); s != r.end())
        key += ", then " + s->value("point", "") + " -> " + s->value("effect", "");
      if (!seen.insert(key).second) {
        *why = fmt::format("the run {} is in two shards", key);
        return {};
      }
      classes.insert(r.value("class", ""));
      runs.push_back(r);
    }
  }
  json out = first;
  out["runs"] = runs;
  out["certificate"] = {{"points", points},
                        {"stable", stable},
                        {"unstable", unstable},
                        {"classes", all_classes},
                        {"explored_classes", classes.size()},
                        {"shard", fmt::format("{} shards merged", shards.size())},
                        {"bound", first["certificate"].value("bound", "")}};
  count_runs(runs, out["certificate"]);
  out["certificate"]["complete"] =
      complete && out["certificate"]["complete"].get<bool>() && classes.size() == all_classes;
  if (!stopped.empty())
    out["certificate"]["stopped_because"] = fmt::format("{}", fmt::join(stopped, "; "));
  if (first["certificate"].contains("pairs"))
    out["certificate"]["pairs"] = merged_pairs(shards, runs);
  return out;
}

std::string certificate_line(const json& doc) {
  const json& c = doc["certificate"];
  auto n = [&](const char* k) { return c.value(k, std::size_t{0}); };
  std::string partial;
  if (!c.value("complete", false))
    partial = fmt::format(" (partial: {})",
                          c.value("stopped_because", std::string("not every class explored")));
  std::string pairs;
  if (const auto p = c.find("pairs"); p != c.end())
    pairs = fmt::format(", pairs {} of {} ({})", p->value("runs", std::size_t{0}),
                        p->value("cross_product", std::size_t{0}),
                        p->value("mode", "") == "all" ? "the cross product"
                                                      : "within each single fault's consequences");
  return fmt::format(
      "explore {}: points {} (stable {}, unstable {}), classes {} (explored {}, shard {}), runs {} "
      "of {}, activated {}, not activated {}, errors {}, violations {}{}{}",
      doc.value("scenario", ""), n("points"), n("stable"), n("unstable"), n("classes"),
      n("explored_classes"), c.value("shard", ""), n("runs"), n("planned"), n("activated"),
      n("not_activated"), n("errors"), n("violations"), pairs, partial);
}

std::string explore_junit(const json& doc) {
  std::map<std::string, std::vector<const json*>> by_class;
  for (const auto& r : doc["runs"]) by_class[r.value("class", r.value("point", ""))].push_back(&r);
  std::size_t failures = 0;
  std::string cases;
  for (const auto& [cls, runs] : by_class) {
    std::string body;
    bool skipped = true;
    for (const json* r : runs) {
      if (r->value("ran", false)) skipped = false;
      if (r->value("verdict", "") != "fail" || !r->value("activated", false)) continue;
      ++failures;
      std::string detail = r->value("command", "");
      if (r->contains("shrunk_command")) detail += "\nshrunk: " + r->value("shrunk_command", "");
      body += fmt::format("<failure message=\"{} at {}: {}\">{}</failure>",
                          xml_escape(r->value("effect", "")), xml_escape(r->value("point", "")),
                          xml_escape(r->value("why", "")), xml_escape(detail));
    }
    if (skipped) body = "<skipped message=\"not run (stopped early)\"/>";
    cases += fmt::format("<testcase classname=\"explore.{}\" name=\"{}\">{}</testcase>\n",
                         xml_escape(doc.value("scenario", "")), xml_escape(cls), body);
  }
  return fmt::format(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites><testsuite name=\"explore {}\" "
      "tests=\"{}\" failures=\"{}\">\n{}</testsuite></testsuites>\n",
      xml_escape(doc.value("scenario", "")), by_class.size(), failures, cases);
}

std::string write_explore_reports(const reports::results& r, const std::string& dir) {
  if (std::string err = reports::write_results_json(r, dir); !err.empty()) return err;
  for (const auto& e : r.explore) {
    const std::string base = fmt::format("{}/explore-{}", dir, e.value("scenario", "scenario"));
    for (const auto& [path, text] :
         {std::pair<std::string, std::string>{base + ".junit.xml", explore_junit(e)},
          {base + ".html", reports::render_explore_html(e)}}) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out.flush()) return fmt::format("cannot write {}", path);
    }
  }
  return "";
}

explore_report::explore_report(std::string command_line, std::optional<std::uint64_t> seed)
    : started_(std::chrono::steady_clock::now()) {
  r_.run.seed = seed;
  r_.run.command_line = std::move(command_line);
  r_.run.started = reports::utc_now();
  r_.run.host = reports::collect_host_info();
}

std::string explore_report::add(json exploration, const std::string& dir) {
  r_.explore.push_back(std::move(exploration));
  r_.run.duration_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return write_explore_reports(r_, dir);
}

}  // namespace faultmux
