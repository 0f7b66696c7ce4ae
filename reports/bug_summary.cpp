#include "reports/bug_summary.hpp"

#include <algorithm>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "reports/html_parts.hpp"

namespace faultmux::reports {
namespace {

using html_parts::arr;
using html_parts::at;
using html_parts::json;
using html_parts::str;

constexpr std::size_t evidence_cap = 12;   // lines per failed expectation
constexpr std::size_t mux_errors_cap = 8;  // first error lines of the mux's log
constexpr std::size_t entries_cap = 10;    // failed entries spelled out

// "exit-after-pid on legacy bug: epipe-crash"
std::string who(const json& e) {
  return str(e, "name", "?") + " on " + html_parts::column_of(e).label;
}

std::string meaning_of(const std::string& oracle) {
  for (const auto& [name, meaning] : html_parts::oracle_meanings())
    if (name == oracle) return meaning;
  return "";
}

// A fenced block; a line holding ``` cannot end it early.
std::string fenced(const std::vector<std::string>& lines) {
  std::string out = "```text\n";
  for (std::string l : lines) {
    for (std::size_t pos = 0; (pos = l.find("```", pos)) != std::string::npos;)
      l.replace(pos, 3, "'''");
    out += l + "\n";
  }
  return out + "```\n";
}

std::string expected(const std::vector<const json*>& failed) {
  std::string out = "## Expected\n\n";
  for (const json* e : failed) {
    out += fmt::format("- **{}** (`{}`, seed {}): {}\n", who(*e), str(*e, "file"), str(*e, "seed"),
                       str(*e, "description"));
    for (const auto& o : arr(*e, "oracles")) {
      if (html_parts::verdict_of(o) != verdict::fail) continue;
      const std::string name = str(o, "name");
      const std::string m = meaning_of(name);
      out += fmt::format("  - {}{}\n", name, m.empty() ? "" : ": " + m);
    }
  }
  return out;
}

// Every entry of a scenario that failed somewhere (its clean run beside its
// legacy bug's), the others counted: a whole suite's passes are noise.
std::string actual(const json& run) {
  std::string out = "## Actual\n\n";
  std::set<std::string> failing;
  for (const auto& e : arr(run, "scenarios"))
    if (is_failure(html_parts::verdict_of(e))) failing.insert(str(e, "name"));
  std::size_t others = 0;
  for (const auto& e : arr(run, "scenarios")) {
    if (!failing.empty() && !failing.count(str(e, "name"))) {
      ++others;
      continue;
    }
    const verdict v = html_parts::verdict_of(e);
    out += fmt::format("- {}: **{}**", who(e), verdict_name(v));
    if (const json* o = html_parts::first_failed_oracle(e)) {
      const json& ev = arr(*o, "evidence");
      out += fmt::format(
          ": {}{}", str(*o, "name"),
          ev.empty() ? "" : ": " + (ev[0].is_string() ? ev[0].get<std::string>() : ev[0].dump()));
    }
    out += "\n";
  }
  if (others)
    out += fmt::format(
        "- and {} more run{} of other scenarios, none failed (index.html has "
        "them all)\n",
        others, others == 1 ? "" : "s");
  return out;
}

std::vector<std::string> mux_errors(const json& e) {
  std::vector<std::string> lines;
  for (const auto& p : arr(at(e, "timeline"), "processes")) {
    if (str(p, "role") != "mux") continue;
    for (const auto& m : arr(p, "marks"))
      if (str(m, "kind") == "error" && lines.size() < mux_errors_cap)
        lines.push_back(fmt::format("+{:.3f}s {}", html_parts::num_or(m, "t", 0), str(m, "text")));
  }
  return lines;
}

std::string evidence(const std::vector<const json*>& failed) {
  std::string out = "## Evidence\n\n";
  for (const json* e : failed) {
    out += fmt::format("### {}\n\nFailed expectations:\n\n", who(*e));
    std::vector<std::string> lines;
    for (const auto& o : arr(*e, "oracles")) {
      if (html_parts::verdict_of(o) != verdict::fail) continue;
      lines.push_back(str(o, "name") + ":");
      const json& ev = arr(o, "evidence");
      for (std::size_t i = 0; i < ev.size() && i < evidence_cap; ++i)
        lines.push_back("  " + (ev[i].is_string() ? ev[i].get<std::string>() : ev[i].dump()));
      if (ev.size() > evidence_cap)
        lines.push_back(
            fmt::format("  ... and {} more lines in results.json", ev.size() - evidence_cap));
    }
    out += fenced(lines) + "\n";
    const auto errors = mux_errors(*e);
    out += errors.empty() ? std::string("The mux logged no error line.\n\n")
                          : "First error lines of the mux's log:\n\n" + fenced(errors) + "\n";
  }
  if (failed.empty()) out += "Nothing failed.\n\n";
  return out;
}

std::string environment(const json& run) {
  const json& r = at(run, "run");
  const json& h = at(r, "host");
  std::string out = "## Environment\n\n";
  out +=
      fmt::format("- faultmux {} ({})\n", str(r, "faultmux_version", "?"), str(r, "command_line"));
  out += fmt::format("- {}, {} cores, somaxconn {}\n", str(h, "kernel", "?"), str(h, "cores", "?"),
                     str(h, "somaxconn", "?"));
  std::vector<std::string> targets;
  for (const auto& e : arr(run, "scenarios"))
    if (auto t = str(e, "target_version");
        !t.empty() && std::find(targets.begin(), targets.end(), t) == targets.end())
      targets.push_back(t);
  for (const auto& t : targets) out += "- target: " + t + "\n";
  if (auto m = str(at(h, "libraries"), "python3_mitogen"); !m.empty())
    out += "- python3-mitogen " + m + " installed\n";
  return out;
}

}  // namespace

std::string bug_summary_markdown(const json& run, const std::string& rerun_all) {
  std::vector<const json*> failed;
  for (const auto& e : arr(run, "scenarios"))
    if (is_failure(html_parts::verdict_of(e)) && failed.size() < entries_cap) failed.push_back(&e);
  const html_parts::counts n = html_parts::count_run(run);
  std::string title = "every scenario passed";
  if (!failed.empty()) {
    title.clear();
    for (const json* e : failed) title += (title.empty() ? "" : ", ") + who(*e);
    title += failed.size() == 1 ? " fails" : " fail";
  }
  std::string out =
      fmt::format("# faultmux: {}\n\n{} passed, {} failed, {} could not run{}.\n\n", title, n.pass,
                  n.fail, n.error, n.na ? fmt::format(", {} not applicable", n.na) : "");
  out += expected(failed) + "\n" + actual(run) + "\n" + evidence(failed);
  out +=
      "## Reproduce\n\nFrom this bundle's directory (`FAULTMUX=PATH` picks the faultmux to "
      "run), `sh rerun.sh` runs:\n\n```sh\n" +
      rerun_all + "\n```\n\n";
  if (!failed.empty()) {
    out += "Each failure alone:\n\n```sh\n";
    for (const json* e : failed) out += str(*e, "rerun") + "\n";
    out += "```\n\n";
  }
  out +=
      "`index.html` is the report (open it in a browser); `results.json` holds everything "
      "it shows.\n\n";
  return out + environment(run);
}

}  // namespace faultmux::reports
