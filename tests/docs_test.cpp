// The documentation against the code, where it lists names: scenario keys,
// legacy bugs, subcommands, relative links, citations of field-failure rows,
// the symptom index, and no citation of files users do not have. Each check
// is a pure function, also run on a planted mismatch.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/scenario.hpp"
#include "harness/symptom_index.hpp"
#include "mux/legacy.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;
using names = std::set<std::string>;

const fs::path source = FAULTMUX_SOURCE_DIR;
using test::slurp;

// README.md and docs/*.md.
std::vector<fs::path> doc_files() {
  std::vector<fs::path> out{source / "README.md"};
  for (const auto& e : fs::directory_iterator(source / "docs"))
    if (e.path().extension() == ".md") out.push_back(e.path());
  return out;
}

std::string all_docs() {
  std::string all;
  for (const auto& p : doc_files()) all += slurp(p) + "\n";
  return all;
}

// The first cell of every row of the tables whose header starts with `header`
// ("| key |"), without its backticks.
names first_column(const std::string& md, const std::string& header) {
  names out;
  std::istringstream in(md);
  std::string line;
  bool in_table = false;
  static const std::regex cell(R"(^\|\s*`([^`]+)`\s*\|)");
  while (std::getline(in, line)) {
    if (line.rfind(header, 0) == 0) {
      in_table = true;
      continue;
    }
    if (line.empty() || line[0] != '|') in_table = false;
    std::smatch m;
    if (in_table && std::regex_search(line, m, cell)) out.insert(m[1]);
  }
  return out;
}

// "in A, not in B" lines for each side of two sets; empty when they agree.
std::vector<std::string> differences(const names& code, const names& docs,
                                     const std::string& what) {
  std::vector<std::string> out;
  for (const auto& n : code)
    if (!docs.count(n)) out.push_back(what + " '" + n + "' is not documented");
  for (const auto& n : docs)
    if (!code.count(n)) out.push_back(what + " '" + n + "' is documented but does not exist");
  return out;
}

names split_commas(const std::string& s) {
  names out;
  std::istringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    if (!item.empty()) out.insert(item);
  }
  return out;
}

// Legacy bug names the docs use: the `| legacy bug |` table and every
// `--legacy-bug NAME` / `--bug NAME` with a concrete name.
names documented_legacy_bugs(const std::string& md) {
  names out = first_column(md, "| legacy bug |");
  static const std::regex flag(R"(--(?:legacy-)?bug ([a-z][a-z-]*[a-z]))");
  for (std::sregex_iterator it(md.begin(), md.end(), flag), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

// Subcommands named as commands in the docs: `faultmux X` or ./faultmux X.
names documented_subcommands(const std::string& md) {
  names out;
  static const std::regex cmd(R"((?:`|\./)faultmux ([a-z][a-z-]*))");
  for (std::sregex_iterator it(md.begin(), md.end(), cmd), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

// The subcommands of `faultmux --help`, and those the ./faultmux script adds
// (its `case` labels: test, bench).
names real_subcommands() {
  names out;
  FILE* p = popen(FAULTMUX_BINARY_PATH " --help", "r");
  EXPECT_NE(p, nullptr);
  std::string help;
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) help += buf;
  if (p) {
    EXPECT_EQ(pclose(p), 0);
  }
  auto at = help.find("Subcommands:");
  EXPECT_NE(at, std::string::npos) << help;
  static const std::regex sub(R"(\n  ([a-z][a-z-]*) )");
  std::string tail = help.substr(at == std::string::npos ? 0 : at);
  for (std::sregex_iterator it(tail.begin(), tail.end(), sub), end; it != end; ++it)
    out.insert((*it)[1]);
  std::string script = slurp(source / "faultmux");
  static const std::regex label(R"(\n  ([a-z]+)\)\n)");
  for (std::sregex_iterator it(script.begin(), script.end(), label), end; it != end; ++it)
    out.insert((*it)[1]);
  return out;
}

// Relative links of a markdown file that point nowhere.
std::vector<std::string> broken_links(const std::string& md, const fs::path& dir) {
  std::vector<std::string> out;
  static const std::regex link(R"(\]\(([^)\s]+)\))");
  for (std::sregex_iterator it(md.begin(), md.end(), link), end; it != end; ++it) {
    std::string target = (*it)[1];
    if (target.find("://") != std::string::npos || target[0] == '#') continue;
    target = target.substr(0, target.find('#'));
    if (!fs::exists(dir / target)) out.push_back(target);
  }
  return out;
}

// Files that cite the design notes users do not have.
std::vector<std::string> citing_files(const fs::path& root) {
  const std::string needles[] = {std::string("SCENARIOS") + ".md", std::string("PROTOCOL") + ".md"};
  std::vector<std::string> out;
  for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
       ++it) {
    const auto rel = fs::relative(it->path(), root).string();
    if (it->is_directory() && (rel == ".git" || rel == "build" || rel == "reports/latest" ||
                               rel == "reports/history" || rel == ".cache")) {
      it.disable_recursion_pending();
      continue;
    }
    if (!it->is_regular_file() || rel == ".git") continue;
    const std::string text = slurp(it->path());
    for (const auto& n : needles)
      if (text.find(n) != std::string::npos) out.push_back(rel + " mentions " + n);
  }
  return out;
}

names accepted_keys() {
  const auto keys = scenario_keys();
  return names(keys.begin(), keys.end());
}

TEST(Docs, EveryScenarioKeyIsDocumentedAndNothingElse) {
  const names keys = accepted_keys();
  ASSERT_TRUE(keys.count("expect.errors.min"));
  const names documented = first_column(slurp(source / "docs/scenarios.md"), "| key |");
  EXPECT_EQ(differences(keys, documented, "scenario key"), std::vector<std::string>{});
}

TEST(Docs, ScenarioKeyCheckFiresOnAPlantedMismatch) {
  const std::string md =
      "| key | type | default | meaning |\n|---|---|---|---|\n| `seed` | int | 1 | x |\n"
      "| `target.colour` | string | | a key the loader does not know |\n";
  const auto diff = differences(accepted_keys(), first_column(md, "| key |"), "scenario key");
  EXPECT_NE(std::find(diff.begin(), diff.end(),
                      "scenario key 'target.colour' is documented but does not exist"),
            diff.end());
  EXPECT_NE(std::find(diff.begin(), diff.end(), "scenario key 'timeout_ms' is not documented"),
            diff.end());
  EXPECT_EQ(std::find(diff.begin(), diff.end(), "scenario key 'seed' is not documented"),
            diff.end());
}

TEST(Docs, EveryLegacyBugIsDocumentedAndNoOther) {
  const names known = split_commas(legacy_bugs::known_names());
  ASSERT_GE(known.size(), 6u);
  const names documented = documented_legacy_bugs(all_docs());
  EXPECT_EQ(differences(known, documented, "legacy bug"), std::vector<std::string>{});
}

TEST(Docs, LegacyBugCheckFiresOnAPlantedMismatch) {
  const std::string md =
      "| legacy bug | what |\n|---|---|\n| `epipe-crash` | x |\n"
      "run it with `--legacy-bug lost-wakeup`\n";
  const auto diff = differences(split_commas(legacy_bugs::known_names()),
                                documented_legacy_bugs(md), "legacy bug");
  EXPECT_NE(std::find(diff.begin(), diff.end(),
                      "legacy bug 'lost-wakeup' is documented but does not exist"),
            diff.end());
  EXPECT_NE(std::find(diff.begin(), diff.end(), "legacy bug 'accept-crash' is not documented"),
            diff.end());
}

TEST(Docs, EverySubcommandIsDocumentedAndNoOther) {
  const names real = real_subcommands();
  ASSERT_TRUE(real.count("run") && real.count("test")) << ::testing::PrintToString(real);
  const names documented = documented_subcommands(all_docs());
  EXPECT_EQ(differences(real, documented, "subcommand"), std::vector<std::string>{});
}

TEST(Docs, SubcommandCheckFiresOnAPlantedMismatch) {
  const std::string md = "`faultmux run FILE` and then ./faultmux replay FILE\n";
  const auto diff = differences(real_subcommands(), documented_subcommands(md), "subcommand");
  EXPECT_NE(
      std::find(diff.begin(), diff.end(), "subcommand 'replay' is documented but does not exist"),
      diff.end());
  EXPECT_NE(std::find(diff.begin(), diff.end(), "subcommand 'shrink' is not documented"),
            diff.end());
}

TEST(Docs, EveryRelativeLinkPointsToAFile) {
  for (const auto& p : doc_files())
    EXPECT_EQ(broken_links(slurp(p), p.parent_path()), std::vector<std::string>{}) << p;
}

TEST(Docs, LinkCheckFiresOnAPlantedMismatch) {
  const std::string md =
      "[ok](faults.md#rules) [web](https://example.org/x) [here](#top) [gone](nowhere.md)";
  EXPECT_EQ(broken_links(md, source / "docs"), std::vector<std::string>{"nowhere.md"});
}

TEST(Docs, NoFileCitesNotesUsersDoNotHave) {
  EXPECT_EQ(citing_files(source), std::vector<std::string>{});
}

TEST(Docs, CitationCheckFiresOnAPlantedMismatch) {
  const fs::path dir =
      fs::temp_directory_path() / ("faultmux-docs-test-" + std::to_string(getpid()));
  fs::create_directories(dir / "build");
  std::ofstream(dir / "a.toml") << "origin = \""
                                << "SCENARIOS"
                                << ".md #1\"\n";
  std::ofstream(dir / "build" / "b.txt") << "PROTOCOL"
                                         << ".md\n";
  std::ofstream(dir / "c.md") << "nothing to see\n";
  const auto found = citing_files(dir);
  fs::remove_all(dir);
  EXPECT_EQ(found, std::vector<std::string>{"a.toml mentions SCENARIOS"
                                            ".md"});
}

// --- field failures and the symptom index -----------------------------------

using row_map = std::map<std::string, std::string>;  // "F4" -> the row's line

// The rows of a field-failure catalogue: `| F4 | ... |`.
row_map catalogue_rows(const std::string& md) {
  row_map out;
  std::istringstream in(md);
  std::string line;
  static const std::regex row(R"(^\| (F\d+) \|)");
  std::smatch m;
  while (std::getline(in, line))
    if (std::regex_search(line, m, row)) out[m[1]] = line;
  return out;
}

// Citations "docs/NAME.md F1, F2" in `text` that name a missing file or row;
// `docs` maps a docs file name to its text.
std::vector<std::string> dangling_citations(const std::string& text, const std::string& where,
                                            const std::map<std::string, std::string>& docs) {
  std::vector<std::string> out;
  static const std::regex cite(R"(docs/([a-z0-9_-]+\.md) (F\d+(?:, F\d+)*))");
  static const std::regex id(R"(F\d+)");
  for (std::sregex_iterator it(text.begin(), text.end(), cite), end; it != end; ++it) {
    const std::string file = (*it)[1], ids = (*it)[2];
    auto doc = docs.find(file);
    if (doc == docs.end()) {
      out.push_back(where + " cites docs/" + file + ", which does not exist");
      continue;
    }
    const row_map rows = catalogue_rows(doc->second);
    for (std::sregex_iterator r(ids.begin(), ids.end(), id); r != end; ++r)
      if (!rows.count(r->str()))
        out.push_back(where + " cites docs/" + file + " " + r->str() + ", which has no such row");
  }
  return out;
}

std::map<std::string, std::string> docs_by_name() {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(source / "docs"))
    if (e.path().extension() == ".md") out[e.path().filename().string()] = slurp(e.path());
  return out;
}

std::vector<scenario> builtin_scenarios() {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(source / "scenarios"))
    if (e.path().extension() == ".toml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<scenario> out;
  for (const auto& f : files) out.push_back(load_scenario(f.string()));
  return out;
}

// Each row's scenarios column against the scenarios whose origin cites it:
// the same names both ways; a row with none says why.
std::vector<std::string> catalogue_mismatches(const row_map& rows,
                                              const std::vector<scenario>& all) {
  std::vector<std::string> out;
  std::map<std::string, names> citing;
  for (const auto& s : all) {
    const auto cited = cited_rows(s.origin);
    if (cited.empty()) out.push_back(s.name + ": its origin cites no docs/field-failures.md row");
    for (const auto& r : cited) citing[r].insert(s.name);
  }
  static const std::regex name(R"(`([a-z0-9-]+)`)");
  for (const auto& [id, line] : rows) {
    // The fourth cell: | id | what | correct | scenarios | origin |
    std::string cells = line;
    for (int i = 0; i < 3; ++i) cells = cells.substr(cells.find('|', 1));
    const std::string column = cells.substr(1, cells.find('|', 1) - 1);
    names listed;
    // "no scenario yet: `route-table-abuse` sends ..." mentions a scenario, lists none;
    // so does "no scenario: ...", a row no scenario can express, with the reason.
    const bool none_yet = column.find("no scenario yet") != std::string::npos ||
                          column.find("no scenario:") != std::string::npos;
    for (std::sregex_iterator it(column.begin(), column.end(), name), end; !none_yet && it != end;
         ++it)
      if (fs::exists(source / "scenarios" / ((*it)[1].str() + ".toml"))) listed.insert((*it)[1]);
    for (const auto& n : citing[id])
      if (!listed.count(n)) out.push_back(id + ": " + n + " cites it but is not listed");
    for (const auto& n : listed)
      if (!citing[id].count(n))
        out.push_back(id + ": lists " + n + ", whose origin cites another row");
    if (listed.empty() && !none_yet && column.find("every scenario") == std::string::npos)
      out.push_back(id + ": no scenario and no word on why");
  }
  return out;
}

TEST(Docs, FieldFailureCatalogueHasEveryRowOnce) {
  const row_map rows = catalogue_rows(slurp(source / "docs/field-failures.md"));
  // F1..F44 from the first catalogues; rows added later take the next number.
  for (int i = 1; i <= 45; ++i) EXPECT_TRUE(rows.count("F" + std::to_string(i))) << "F" << i;
  EXPECT_EQ(rows.size(), 45u);
}

TEST(Docs, EveryFieldFailureCitationResolves) {
  const auto docs = docs_by_name();
  std::vector<std::string> bad;
  for (const auto& e : fs::directory_iterator(source / "scenarios"))
    if (e.path().extension() == ".toml")
      for (auto& d : dangling_citations(slurp(e.path()), e.path().filename().string(), docs))
        bad.push_back(d);
  for (const auto& p : doc_files())
    for (auto& d : dangling_citations(slurp(p), p.filename().string(), docs)) bad.push_back(d);
  EXPECT_EQ(bad, std::vector<std::string>{});
}

TEST(Docs, CitationCheckFiresOnADanglingRow) {
  const std::map<std::string, std::string> docs{{"field-failures.md", "| F1 | a | b | c | d |\n"}};
  EXPECT_EQ(dangling_citations("origin = \"docs/field-failures.md F1; x\"", "a.toml", docs),
            std::vector<std::string>{});
  EXPECT_EQ(
      dangling_citations("origin = \"docs/field-failures.md F1, F9; x\"", "a.toml", docs),
      std::vector<std::string>{"a.toml cites docs/field-failures.md F9, which has no such row"});
  EXPECT_EQ(dangling_citations("see docs/failures.md F1", "README.md", docs),
            std::vector<std::string>{"README.md cites docs/failures.md, which does not exist"});
}

TEST(Docs, EveryScenarioCitesItsRowAndEveryRowListsItsScenarios) {
  const row_map rows = catalogue_rows(slurp(source / "docs/field-failures.md"));
  EXPECT_EQ(catalogue_mismatches(rows, builtin_scenarios()), std::vector<std::string>{});
}

TEST(Docs, CatalogueCheckFiresOnAPlantedMismatch) {
  scenario cites;
  cites.name = "short-pid";
  cites.origin = "docs/field-failures.md F2; x";
  scenario silent;
  silent.name = "bad-magic";
  silent.origin = "Mitogen #437";
  // F3 and F4 say why they have none; the scenario F4 mentions is not listed.
  const row_map rows{{"F1", "| F1 | a | b | `short-pid` | o |"},
                     {"F2", "| F2 | a | b | nothing | o |"},
                     {"F3", "| F3 | a | b | no scenario yet: x | o |"},
                     {"F4", "| F4 | a | b | no scenario: see `short-pid` | o |"}};
  EXPECT_EQ(catalogue_mismatches(rows, {cites, silent}),
            (std::vector<std::string>{"bad-magic: its origin cites no docs/field-failures.md row",
                                      "F1: lists short-pid, whose origin cites another row",
                                      "F2: short-pid cites it but is not listed",
                                      "F2: no scenario and no word on why"}));
}

TEST(Docs, SymptomIndexIsCurrentAndCoversEveryScenario) {
  const auto all = builtin_scenarios();
  const std::string index = slurp(source / "docs/symptoms.md");
  EXPECT_EQ(index, symptom_index_markdown(all))
      << "regenerate it: ./faultmux run --list --update-index";
  for (const auto& s : all)
    EXPECT_NE(index.find("| `" + s.name + "` |"), std::string::npos) << s.name;
}

TEST(Docs, SymptomSearchFindsALogLine) {
  scenario s;
  s.name = "eagain-first-recv";
  s.description = "EAGAIN on the first recv";
  s.origin = "docs/field-failures.md F4; Mitogen #131";
  s.symptoms = {R"(listener: failed to read remote identity: \[Errno 11\])"};
  EXPECT_TRUE(scenario_matches(s, "remote identity"));
  EXPECT_TRUE(scenario_matches(s, "REMOTE IDENTITY"));
  EXPECT_TRUE(scenario_matches(
      s, "listener: failed to read remote identity: [Errno 11] Resource temporarily unavailable"));
  EXPECT_FALSE(scenario_matches(s, "Corruption detected"));
  EXPECT_EQ(cited_rows(s.origin), std::vector<std::string>{"F4"});
  EXPECT_EQ(cited_rows("docs/field-failures.md F7, F10; x"),
            (std::vector<std::string>{"F7", "F10"}));
  EXPECT_EQ(cited_rows("Mitogen #131"), std::vector<std::string>{});
}

}  // namespace
}  // namespace faultmux
