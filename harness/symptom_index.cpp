// docs/symptoms.md from the scenarios' metadata, and the search behind
// `faultmux run --list --grep`.
#include "harness/symptom_index.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <regex>

#include <fmt/format.h>

namespace faultmux {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// A table cell: `|` would end it.
std::string cell(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out;
}

std::string code_list(const std::vector<std::string>& items, const char* none) {
  if (items.empty()) return none;
  std::vector<std::string> quoted;
  for (const auto& i : items) quoted.push_back(fmt::format("`{}`", i));
  return fmt::format("{}", fmt::join(quoted, ", "));
}

std::string rows_of(const scenario& s) {
  auto rows = cited_rows(s.origin);
  return rows.empty() ? "-" : fmt::format("{}", fmt::join(rows, ", "));
}

template <typename T>
void add_once(std::vector<T>& v, const T& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

const char* header =
    "# Symptom index\n"
    "\n"
    "From a log line seen in the field to the scenario that reproduces it, its\n"
    "row in [field-failures.md](field-failures.md), the legacy bug of the built-in\n"
    "mux it catches ([faults.md](faults.md#legacy-bugs)) and the Mitogen versions\n"
    "affected and fixed (from Mitogen's changelog and tags; `unknown` where they\n"
    "do not say). Search it from the command line with `faultmux run --list --grep\n"
    "TEXT` (TEXT may be the whole log line).\n"
    "\n"
    "This file is generated from the scenarios' `symptoms`, `[expect] errors`,\n"
    "`catches`, `mitogen_affected` and `mitogen_fixed` keys by `faultmux run\n"
    "--list --update-index`; a test checks that it is current.\n";

}  // namespace

std::vector<std::string> cited_rows(const std::string& origin) {
  std::vector<std::string> out;
  static const std::regex cite(R"(docs/field-failures\.md ((?:F\d+)(?:, F\d+)*))");
  std::smatch m;
  if (!std::regex_search(origin, m, cite)) return out;
  static const std::regex row(R"(F\d+)");
  const std::string rows = m[1];
  for (std::sregex_iterator it(rows.begin(), rows.end(), row), end; it != end; ++it)
    out.push_back(it->str());
  return out;
}

std::vector<std::string> symptom_lines(const scenario& s) {
  std::vector<std::string> out;
  for (const auto& re : s.symptoms) add_once(out, re);
  for (const auto& e : s.expect.errors) add_once(out, e.pattern);
  return out;
}

std::string symptom_index_markdown(const std::vector<scenario>& all) {
  std::string out = header;
  // A row per log line and scenario, the lines in the order met.
  std::vector<std::string> lines;
  std::map<std::string, std::vector<const scenario*>> by_line;
  for (const auto& s : all)
    for (const auto& re : symptom_lines(s)) {
      add_once(lines, re);
      add_once(by_line[re], &s);
    }
  out +=
      "\n## By log line\n\n"
      "| log line (regex) | scenario | field failure | legacy bug | Mitogen affected | Mitogen "
      "fixed |\n|---|---|---|---|---|---|\n";
  for (const auto& re : lines)
    for (const scenario* s : by_line[re])
      out += fmt::format("| `{}` | `{}` | {} | {} | {} | {} |\n", cell(re), s->name, rows_of(*s),
                         code_list(s->catches, "-"), cell(s->mitogen_affected),
                         cell(s->mitogen_fixed));
  out +=
      "\n## By scenario\n\n"
      "| scenario | field failure | log lines | legacy bug | Mitogen affected | Mitogen fixed |\n"
      "|---|---|---|---|---|---|\n";
  for (const auto& s : all)
    out += fmt::format("| `{}` | {} | {} | {} | {} | {} |\n", s.name, rows_of(s),
                       symptom_lines(s).size(), code_list(s.catches, "-"), cell(s.mitogen_affected),
                       cell(s.mitogen_fixed));
  return out;
}

bool scenario_matches(const scenario& s, const std::string& text) {
  const std::string needle = lower(text);
  std::vector<std::string> hay{s.name, s.description, s.origin};
  hay.insert(hay.end(), s.catches.begin(), s.catches.end());
  const auto res = symptom_lines(s);
  hay.insert(hay.end(), res.begin(), res.end());
  for (const auto& h : hay)
    if (lower(h).find(needle) != std::string::npos) return true;
  for (const auto& re : res) {
    try {
      if (std::regex_search(text, std::regex(re, std::regex::icase))) return true;
    } catch (const std::regex_error&) {
      // The loader refuses bad regexes; a scenario built in code may not.
    }
  }
  return false;
}

}  // namespace faultmux
