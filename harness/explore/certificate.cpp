#include "harness/explore/certificate.hpp"

#include <map>
#include <set>

#include <fmt/format.h>

#include "reports/results.hpp"

namespace faultmux {

using json = nlohmann::json;
using reports::xml_escape;

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
}

bool is_explore_document(const json& doc) {
  return doc.is_object() && doc.value("schema", std::string()) == explore_schema;
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
  for (const auto& d : shards) {
    if (!is_explore_document(d) || !same(d, "scenario") || !same(d, "target") ||
        !same(d, "legacy_bugs") || !same(d, "seed")) {
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
    for (const auto& r : d["runs"]) {
      const std::string key = r.value("point", "") + " -> " + r.value("effect", "");
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
      body += fmt::format("<failure message=\"{} at {}: {}\">{}</failure>",
                          xml_escape(r->value("effect", "")), xml_escape(r->value("point", "")),
                          xml_escape(r->value("why", "")), xml_escape(r->value("command", "")));
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

}  // namespace faultmux
