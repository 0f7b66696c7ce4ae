// index.html: strings from results.json render inert; the history math (pass
// rate, flaky flag); `faultmux report` names a bad input and exits 2; and the
// page itself, rendered from the committed fixture and from a real run, loaded
// in headless Chromium: the matrix carries the right verdicts, a failing
// scenario has a timeline with its fault marks, no console errors, under 2 MB,
// and a screenshot a person can open (build/<preset>/reports/).
#include "reports/explore_html.hpp"
#include "reports/html.hpp"

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "harness/report_command.hpp"
#include "roles/process.hpp"
#include "tests/support/browser.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"
#include "tests/support/sanitizers.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::chart_labels;
using test::chart_layout;
using test::dump_dom;
using test::find_chromium;
using test::no_chromium;
using test::run_dir;
using test::screenshot;
namespace fs = std::filesystem;

const std::string fixture_path =
    std::string(FAULTMUX_SOURCE_DIR) + "/tests/reports/fixture-results.json";

json fixture() {
  std::string why;
  auto j = reports::load_results(fixture_path, &why);
  EXPECT_TRUE(j) << why;
  return j ? *j : json::object();
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

// --- Escaping. ---

TEST(HtmlReport, EscapeMakesMarkupText) {
  EXPECT_EQ(reports::html_escape("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(reports::html_escape("tab\tnl\n"), "tab\tnl\n");
  // Control bytes and bytes that are not UTF-8 become U+FFFD; UTF-8 stays.
  EXPECT_EQ(reports::html_escape(std::string("\x00\x1b\x7f", 3)),
            "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(reports::html_escape("caf\xc3\xa9 \xc0\xaf \xed\xa0\x80"),
            "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(reports::html_escape("\xf0\x9f\x98\x80"), "\xf0\x9f\x98\x80");
  EXPECT_EQ(reports::html_escape("cut \xe2\x82"), "cut \xef\xbf\xbd\xef\xbf\xbd");
}

TEST(HtmlReport, HostileStringsFromResultsRenderInert) {
  json doc = fixture();
  json& e = doc["scenarios"][1];
  const std::string evil = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'&";
  e["name"] = "name" + evil;
  e["description"] = "desc" + evil;
  e["rerun"] = "faultmux run x.toml" + evil;
  e["oracles"][3]["evidence"][0] = "evidence" + evil;
  e["faults"][0]["what"] = "fault" + evil;
  e["timeline"]["processes"][1]["name"] = "proc" + evil;
  for (auto& p : e["timeline"]["processes"])
    for (auto& m : p["marks"])
      if (m["kind"] == "fault") m["text"] = "mark" + evil;
  e["windows"][0]["what"] = "window" + evil;
  doc["run"]["command_line"] = "cmd" + evil;
  doc["run"]["host"]["kernel"] = "kernel" + evil;
  std::string page = reports::render_html({doc});
  EXPECT_EQ(count_of(page, "<script"), 0u);
  EXPECT_EQ(count_of(page, "<img"), 0u);
  const std::string shown =
      "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
      "&quot;&#39;&amp;";
  for (const char* where : {"name", "desc", "evidence", "fault", "proc", "mark", "window", "cmd",
                            "kernel", "faultmux run x.toml"})
    EXPECT_NE(page.find(where + shown), std::string::npos) << where;
  // In an attribute (data-scenario) too: the quote cannot end it.
  EXPECT_NE(page.find("data-scenario=\"name" + shown + "\""), std::string::npos);
}

// --- History math. ---

// A copy of the fixture started at `started`, with `changes` applied to the
// entries named (target builtin, no legacy bug, repeat 1) as verdicts.
json run_at(const json& base, const std::string& started,
            const std::map<std::string, std::string>& verdicts, double duration = -1) {
  json r = base;
  r["run"]["started"] = started;
  for (auto& e : r["scenarios"]) {
    if (e["target"] != "builtin" || !e["legacy_bugs"].empty() || e["repeat"] != 1) continue;
    auto it = verdicts.find(e["name"].get<std::string>());
    if (it != verdicts.end()) e["verdict"] = it->second;
    if (duration >= 0) e["duration_s"] = duration;
  }
  return r;
}

const reports::history_row* row_of(const std::vector<reports::history_row>& h,
                                   const std::string& scenario, const std::string& column) {
  for (const auto& r : h)
    if (r.scenario == scenario && r.column == column) return &r;
  return nullptr;
}

TEST(HtmlReport, HistoryPassRateAndFlakyAcrossRepeats) {
  // One run: backlog-at-forks passed, failed, passed with seed 3.
  auto h = reports::compute_history({fixture()});
  const auto* b = row_of(h, "backlog-at-forks", "builtin");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->passes, 2);
  EXPECT_EQ(b->failures, 1);
  EXPECT_NEAR(b->pass_rate(), 2.0 / 3, 1e-9);
  EXPECT_TRUE(b->flaky);
  EXPECT_EQ(b->verdicts, std::vector<std::string>{"mixed"});
  const auto* e = row_of(h, "epipe-on-identity", "builtin");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->passes, 0);
  EXPECT_EQ(e->failures, 1);
  EXPECT_FALSE(e->flaky);
  ASSERT_TRUE(row_of(h, "epipe-on-identity", "legacy:epipe-crash"));
  ASSERT_TRUE(row_of(h, "eagain-first-recv", "mitogen"));
  // "error" counts against the pass rate, and is not flaky on its own.
  const auto* br = row_of(h, "broken-target", "builtin");
  ASSERT_TRUE(br);
  EXPECT_EQ(br->failures, 1);
  EXPECT_FALSE(br->flaky);
}

TEST(HtmlReport, HistoryAcrossRuns) {
  json base = fixture();
  // Given newest first: order_runs puts them oldest first by run.started.
  json r3 = run_at(base, "2026-11-26T23:00:00Z", {{"eagain-first-recv", "fail"}}, 3.0);
  json r1 = run_at(base, "2026-11-26T21:00:00Z", {}, 1.0);
  json r2 = run_at(base, "2026-11-26T22:00:00Z", {{"epipe-on-identity", "pass"}}, 2.0);
  r1["scenarios"].push_back(base["scenarios"][0]);
  r1["scenarios"].back()["name"] = "retired";
  auto runs = reports::order_runs({r3, r1, r2});
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["run"]["started"], "2026-11-26T21:00:00Z");
  EXPECT_EQ(runs[2]["run"]["started"], "2026-11-26T23:00:00Z");
  auto h = reports::compute_history(runs);

  // Same seed 1: passed twice, then failed: flaky, 2 of 3.
  const auto* a = row_of(h, "eagain-first-recv", "builtin");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->passes, 2);
  EXPECT_EQ(a->failures, 1);
  EXPECT_TRUE(a->flaky);
  EXPECT_EQ(a->runs_seen, 3);
  EXPECT_EQ(a->verdicts, (std::vector<std::string>{"pass", "pass", "fail"}));
  ASSERT_EQ(a->durations.size(), 3u);
  EXPECT_DOUBLE_EQ(*a->durations[0], 1.0);
  EXPECT_DOUBLE_EQ(*a->durations[2], 3.0);
  // On Mitogen it passed every time: 100 %, not flaky.
  const auto* m = row_of(h, "eagain-first-recv", "mitogen");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->passes, 3);
  EXPECT_DOUBLE_EQ(m->pass_rate(), 1.0);
  EXPECT_FALSE(m->flaky);
  // Failed, passed, failed with seed 7: flaky across runs.
  const auto* e = row_of(h, "epipe-on-identity", "builtin");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->passes, 1);
  EXPECT_EQ(e->failures, 2);
  EXPECT_TRUE(e->flaky);
  // A different seed is a different run, not flakiness.
  json r4 = run_at(base, "2026-11-27T00:00:00Z", {{"stall-during-storm", "fail"}});
  for (auto& x : r4["scenarios"])
    if (x["name"] == "stall-during-storm") x["seed"] = 99;
  auto h4 = reports::compute_history(reports::order_runs({r1, r4}));
  const auto* s4 = row_of(h4, "stall-during-storm", "builtin");
  ASSERT_TRUE(s4);
  EXPECT_EQ(s4->passes, 1);
  EXPECT_EQ(s4->failures, 1);
  EXPECT_FALSE(s4->flaky);
  // Only in the oldest run: listed, not run later.
  const auto* gone = row_of(h, "retired", "builtin");
  ASSERT_TRUE(gone);
  EXPECT_EQ(gone->verdicts, (std::vector<std::string>{"pass", "", ""}));
  EXPECT_FALSE(gone->durations[1].has_value());

  // The page shows the newest run in full and the history.
  std::string page = reports::render_html({r3, r1, r2});
  EXPECT_NE(page.find("<section id=\"history\">"), std::string::npos);
  EXPECT_NE(page.find("History of 3 runs"), std::string::npos);
  EXPECT_NE(page.find("data-scenario=\"eagain-first-recv\" data-target=\"builtin\" "
                      "data-pass-rate=\"0.667\" data-flaky=\"true\""),
            std::string::npos);
  EXPECT_NE(page.find("data-scenario=\"eagain-first-recv\" data-target=\"mitogen\" "
                      "data-pass-rate=\"1.000\">"),
            std::string::npos);
  EXPECT_NE(page.find("<title>faultmux report 2026-11-26T23:00:00Z"), std::string::npos);
  // One run alone has no history section.
  EXPECT_EQ(reports::render_html({r1}).find("<section id=\"history\">"), std::string::npos);
}

// A results document from an earlier schema, or with fields of the wrong
// type, still renders what is there.
TEST(HtmlReport, ToleratesMissingAndOddFields) {
  json doc = {{"schema", "faultmux-results/1"},
              {"run", {{"started", "2026-01-01T00:00:00Z"}, {"seed", nullptr}}},
              {"scenarios",
               {{{"name", "old"}, {"verdict", "pass"}, {"target", "builtin"}},
                {{"name", "odd"},
                 {"verdict", 3},
                 {"timeline", {{"processes", "no"}}},
                 {"latency", {{"buckets", {{{"le_ms", "x"}}}}}},
                 {"resources", {{"samples", {{{"t", 0}, {"fds", 1}}}}}},
                 {"oracles", {{{"name", 1}, {"evidence", "not a list"}}}}}}}};
  std::string page = reports::render_html({doc});
  EXPECT_NE(page.find("data-scenario=\"old\" data-target=\"builtin\" data-verdict=\"pass\""),
            std::string::npos);
  EXPECT_NE(page.find("data-scenario=\"odd\" data-target=\"builtin\" data-verdict=\"error\""),
            std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

// A scenario's phases show as a bar with each phase's time (none, or odd
// ones, show nothing and break nothing); a soak's figures show as a line.
TEST(HtmlReport, PhasesAndSoakFiguresShow) {
  json doc = {{"schema", "faultmux-results/3"},
              {"run", {{"started", "2026-01-01T00:00:00Z"}}},
              {"scenarios",
               {{{"name", "timed"},
                 {"verdict", "pass"},
                 {"target", "builtin"},
                 {"phases",
                  {{{"name", "spawn"}, {"seconds", 1.5}},
                   {{"name", "traffic"}, {"seconds", 2.5}},
                   {{"name", "stop"}, {"seconds", 0}},
                   {{"name", "judge"}, {"seconds", 1}}}}},
                {{"name", "untimed"}, {"verdict", "pass"}, {"target", "builtin"}},
                {{"name", "odd"}, {"verdict", "pass"}, {"phases", "no"}}}}};
  std::string page = reports::render_html({doc});
  EXPECT_EQ(count_of(page, "<th>phases</th>"), 1u) << "only the timed scenario has phases";
  EXPECT_NE(page.find("title=\"spawn 1.50 s\" style=\"display:inline-block;height:10px;width:60px"),
            std::string::npos)
      << "spawn is 1.5 of 5 s: 60 of 200 px";
  EXPECT_NE(page.find("traffic 2.50 s"), std::string::npos);
  EXPECT_NE(page.find("judge 1.00 s"), std::string::npos);
  json soaked = doc["scenarios"][0];
  soaked["soak"] = {{"seconds", 1800},
                    {"cycles", 5000},
                    {"messages", 200000},
                    {"lost", 0},
                    {"metrics",
                     {{{"name", "rss_kib"}, {"slope_per_min", 1.5}, {"bound_per_min", 512}},
                      {{"name", "fds"}, {"slope_per_min", nullptr}, {"bound_per_min", 5}}}}};
  doc["scenarios"] = json::array({soaked});
  page = reports::render_html({doc});
  EXPECT_NE(page.find("30 min 0 s · 5000 worker cycles, 200000 messages, 0 lost; rss_kib "
                      "+1.50/min (bound 512); fds n/a/min (bound 5)"),
            std::string::npos);
  EXPECT_NE(page.find("</html>"), std::string::npos);
}

// The matrix's Mitogen column names the Mitogen its runs used: the version,
// and the source tree when it was not the installed package.
TEST(HtmlReport, TheMitogenColumnNamesItsVersionAndTree) {
  auto doc_with = [](const std::string& said) {
    json e = {{"name", "a"}, {"verdict", "pass"}, {"target", "mitogen"}};
    if (!said.empty()) e["target_version"] = said;
    return json{{"schema", "faultmux-results/3"},
                {"run", {{"started", "2026-01-01T00:00:00Z"}}},
                {"scenarios", {e}}};
  };
  std::string src = reports::render_html({doc_with("mitogen 0.3.52.dev /src/mitogen")});
  EXPECT_NE(src.find("Mitogen 0.3.52.dev (/src/mitogen)"), std::string::npos);
  std::string installed =
      reports::render_html({doc_with("mitogen 0.3.3 /usr/lib/python3/dist-packages")});
  EXPECT_NE(installed.find("Mitogen 0.3.3"), std::string::npos);
  EXPECT_EQ(installed.find("(/usr/lib/python3"), std::string::npos);
  std::string unsaid = reports::render_html({doc_with("")});
  EXPECT_EQ(unsaid.find("Mitogen 0.3"), std::string::npos);
}

// A time axis ending on a tick anchors that label at its end, so it stays
// inside a chart with a narrow right margin; the others stay centred.
TEST(HtmlReport, TimeLabelAtTheRightEndIsAnchoredAtItsEnd) {
  json doc = {
      {"schema", "faultmux-results/1"},
      {"run", {{"started", "2026-01-01T00:00:00Z"}}},
      {"scenarios",
       {{{"name", "short"},
         {"verdict", "pass"},
         {"target", "builtin"},
         {"resources", {{"samples", {{{"t", 0}, {"fds", 1}}, {{"t", 0.02}, {"fds", 2}}}}}}}}}};
  std::string page = reports::render_html({doc});
  EXPECT_NE(page.find("class=\"tick end\" x=\"456\" y=\"152\">1.0 s</text>"), std::string::npos);
  EXPECT_NE(page.find("class=\"tick\" x=\"375.2\" y=\"152\">0.8 s</text>"), std::string::npos);
}

// A page over the budget is rendered again with the compact caps.
TEST(HtmlReport, LargeRunsStayUnderTwoMegabytes) {
  json base = fixture();
  json doc = base;
  doc["scenarios"] = json::array();
  // 40 scenario entries like the fixture's largest (the built-in
  // suite has fewer, and smaller), each with full marks,
  // 600 resource samples, 100 faults and 50 long evidence lines per oracle.
  json big;
  for (const auto& e : base["scenarios"])
    if (e["name"] == "stall-during-storm") big = e;
  ASSERT_FALSE(big.is_null());
  // 40 rows kept (processes_omitted says the rest were dropped), each hit.
  json& procs = big["timeline"]["processes"];
  procs.erase(procs.begin() + 40, procs.end());
  for (auto& p : procs) {
    json marks = json::array();
    for (int k = 0; k < 60; ++k)
      marks.push_back(
          {{"t", 0.01 * k}, {"kind", k % 7 ? "call" : "fault"}, {"text", std::string(80, 'm')}});
    p["marks"] = marks;
    p["outcome"] = "disconnected";
  }
  big["resources"]["samples"] = json::array();
  for (int k = 0; k < 600; ++k)
    big["resources"]["samples"].push_back(
        {{"t", k * 0.005}, {"fds", 9 + k % 13}, {"rss_kib", 5000 + k}});
  big["faults"] = json::array();
  for (int k = 0; k < 100; ++k)
    big["faults"].push_back({{"at_s", 0.02 * k},
                             {"source", "faults"},
                             {"pid", 1},
                             {"kind", "syscall"},
                             {"what", std::string(120, 'f')}});
  for (auto& o : big["oracles"]) {
    o["evidence"] = json::array();
    for (int k = 0; k < 50; ++k) o["evidence"].push_back(std::string(200, 'e'));
  }
  for (int i = 0; i < 40; ++i) {
    json e = big;
    e["name"] = "big-" + std::to_string(i);
    doc["scenarios"].push_back(e);
  }
  std::string page = reports::render_html({doc});
  EXPECT_LT(page.size(), 2u * 1024 * 1024);
  EXPECT_NE(page.find("class=\"compact\""), std::string::npos);
  // The fixture itself renders in full.
  std::string small = reports::render_html({base});
  EXPECT_LT(small.size(), 2u * 1024 * 1024);
  EXPECT_EQ(small.find("class=\"compact\""), std::string::npos);
}

// --- `faultmux report`: bad input is named, exit 2. ---

struct command_result {
  int status = -1;
  std::string out, err;
};

command_result run_faultmux(const std::vector<std::string>& args) {
  run_dir tmp;
  std::vector<std::string> argv = {test::binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  auto p = child_process::spawn(argv, true, tmp.file("stderr"));
  command_result r;
  while (auto line = p.read_line(ms(30000))) r.out += *line + "\n";
  auto st = p.wait(ms(30000));
  r.status = st && WIFEXITED(*st) ? WEXITSTATUS(*st) : -1;
  r.err = test::slurp(tmp.file("stderr"));
  return r;
}

TEST(HtmlReport, ReportCommandNamesBadInput) {
  run_dir dir;
  std::ofstream(dir.file("bad.json")) << "{\"schema\": ";
  std::ofstream(dir.file("other.json")) << "{\"schema\": \"something/1\", \"run\": {}}";
  const std::string out = dir.file("out");
  auto missing = run_faultmux({"report", dir.file("none.json"), "-o", out});
  EXPECT_EQ(missing.status, 2);
  EXPECT_NE(
      missing.err.find(dir.file("none.json") + ": cannot read: No such file or directory (ENOENT)"),
      std::string::npos)
      << missing.err;
  auto bad = run_faultmux({"report", fixture_path, dir.file("bad.json"), "-o", out});
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.err.find(dir.file("bad.json") + ": not valid JSON: "), std::string::npos)
      << bad.err;
  auto other = run_faultmux({"report", dir.file("other.json"), "-o", out});
  EXPECT_EQ(other.status, 2);
  EXPECT_NE(other.err.find(dir.file("other.json") +
                           ": not a faultmux results document: \"schema\" is \"something/1\""),
            std::string::npos)
      << other.err;
  auto directory = run_faultmux({"report", dir.path(), "-o", out});
  EXPECT_EQ(directory.status, 2);
  EXPECT_NE(directory.err.find("is a directory"), std::string::npos) << directory.err;
  EXPECT_FALSE(fs::exists(out + "/index.html"));
  auto none = run_faultmux({"report", "-o", out});
  EXPECT_EQ(none.status, 2);
  // Several files: written, its path printed.
  auto ok = run_faultmux({"report", fixture_path, fixture_path, "-o", out});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_EQ(ok.out, out + "/index.html\n");
  EXPECT_NE(test::slurp(out + "/index.html").find("History of 2 runs"), std::string::npos);
}

// Several files in any order: the newest is the run shown in full, the others
// only in the history.
TEST(HtmlReport, ReportCommandShowsTheNewestInFull) {
  run_dir dir;
  json old = fixture();
  old["run"]["started"] = "2020-01-01T00:00:00Z";
  for (auto& e : old["scenarios"]) e["verdict"] = "pass";
  old["scenarios"][0]["name"] = "only-in-the-old-run";
  std::ofstream(dir.file("old.json")) << old.dump();
  auto r = run_faultmux({"report", fixture_path, dir.file("old.json"), "-o", dir.file("out")});
  ASSERT_EQ(r.status, 0) << r.err;
  std::string page = test::slurp(dir.file("out/index.html"));
  EXPECT_NE(page.find("<title>faultmux report 2026-11-26T21:30:05Z"), std::string::npos);
  EXPECT_NE(page.find("History of 2 runs"), std::string::npos);
  // The old run's own scenario is in the history, not among the details.
  EXPECT_NE(page.find("<tr data-scenario=\"only-in-the-old-run\""), std::string::npos);
  EXPECT_EQ(page.find("<section class=\"detail v-pass\" id=\"e0\" data-scenario=\"only-in"),
            std::string::npos);
  EXPECT_NE(page.find("<svg class=\"timeline\""), std::string::npos);
}

// The suite's page: this run copied into the history directory, the page
// drawn from the newest 20 copies there.
TEST(HtmlReport, SuiteHistoryKeepsCopiesAndShowsTheLastTwenty) {
  run_dir dir;
  const std::string latest = dir.file("latest"), history = dir.file("history");
  fs::create_directories(latest);
  fs::create_directories(history);
  json base = fixture();
  for (int i = 0; i < 22; ++i) {
    json old = reports::history_only(base);
    old["run"]["started"] = fmt::format("2026-11-{:02}T10:00:00Z", i + 1);
    std::ofstream(history + "/" + old["run"]["started"].get<std::string>() + ".json") << old.dump();
  }
  std::ofstream(history + "/broken.json") << "{";  // sorts last: costs its own entry only
  std::ofstream(latest + "/results.json") << base.dump();
  std::string index;
  EXPECT_EQ(render_with_history(latest, history, 20, &index), "");
  EXPECT_EQ(index, latest + "/index.html");
  EXPECT_TRUE(fs::exists(history + "/2026-11-26T21:30:05Z.json"));
  // 24 copies: the 4 oldest are gone.
  EXPECT_FALSE(fs::exists(history + "/2026-11-04T10:00:00Z.json"));
  EXPECT_TRUE(fs::exists(history + "/2026-11-05T10:00:00Z.json"));
  EXPECT_EQ(std::distance(fs::directory_iterator(history), fs::directory_iterator()), 20);
  std::string page = test::slurp(index);
  // 20 newest files: broken.json (skipped), this run and 18 older ones.
  EXPECT_NE(page.find("History of 19 runs"), std::string::npos);
  EXPECT_NE(page.find("<title>faultmux report 2026-11-26T21:30:05Z"), std::string::npos);
  // The same run again (same start second) keeps both copies.
  EXPECT_EQ(render_with_history(latest, history, 20, &index), "");
  EXPECT_TRUE(fs::exists(history + "/2026-11-26T21:30:05Z-2.json"));
  // A latest directory without results.json is named.
  fs::remove(latest + "/results.json");
  EXPECT_NE(
      render_with_history(latest, history, 20, &index).find(latest + "/results.json: cannot read"),
      std::string::npos);
}

// --- The page in headless Chromium. ---

// tools/install-deps, which ./faultmux test runs first, installs Debian's
// chromium: without it the report goes unchecked, so that is a failure.
// data-scenario/data-target -> data-verdict of every matrix cell.
std::map<std::string, std::string> matrix_of(const std::string& dom) {
  std::map<std::string, std::string> m;
  static const std::regex cell(
      "<td class=\"cell[^\"]*\" data-scenario=\"([^\"]*)\" data-target=\"([^\"]*)\" "
      "data-verdict=\"([^\"]*)\"");
  for (std::sregex_iterator it(dom.begin(), dom.end(), cell), end; it != end; ++it)
    m[(*it)[1].str() + " @ " + (*it)[2].str()] = (*it)[3].str();
  return m;
}

// The detail section of a scenario on a target, as rendered.
std::string detail_of(const std::string& dom, const std::string& scenario,
                      const std::string& target) {
  std::string key = "data-scenario=\"" + scenario + "\" data-target=\"" + target + "\"><h3>";
  auto at = dom.find(key);
  if (at == std::string::npos) return "";
  auto end = dom.find("</section>", at);
  return dom.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

const std::string screenshot_dir = std::string(FAULTMUX_BUILD_DIR) + "/reports";

TEST(HtmlReportBrowser, FixtureRendersInChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << no_chromium;
  // Where a person can open the page and the screenshot afterwards.
  const std::string out = screenshot_dir + "/fixture";
  auto rendered = run_faultmux({"report", fixture_path, "-o", out});
  ASSERT_EQ(rendered.status, 0) << rendered.err;
  const std::string page = out + "/index.html";
  const auto size = fs::file_size(page);
  EXPECT_LT(size, 2u * 1024 * 1024);

  std::string console;
  std::string dom = dump_dom(chromium, page, &console);
  ASSERT_NE(dom.find("faultmux reliability report"), std::string::npos) << dom.substr(0, 500);
  EXPECT_EQ(console, "") << "console errors on the page";

  auto m = matrix_of(dom);
  const std::map<std::string, std::string> want = {
      {"eagain-first-recv @ builtin", "pass"},
      {"eagain-first-recv @ mitogen", "pass"},
      {"eagain-first-recv @ legacy:crash-on-eagain", "fail"},
      {"eagain-first-recv @ legacy:epipe-crash", "not-run"},
      {"epipe-on-identity @ builtin", "fail"},
      {"epipe-on-identity @ mitogen", "fail"},
      {"epipe-on-identity @ legacy:epipe-crash", "fail"},
      {"epipe-on-identity @ legacy:crash-on-eagain", "not-run"},
      {"backlog-at-forks @ builtin", "mixed"},
      {"backlog-at-forks @ mitogen", "not-run"},
      {"stall-during-storm @ builtin", "pass"},
      {"broken-target @ builtin", "error"},
  };
  for (const auto& [k, v] : want) EXPECT_EQ(m[k], v) << k;
  EXPECT_EQ(m.size(), 5u * 4u);  // 5 scenarios x (builtin, mitogen, two legacy bugs)
  EXPECT_NE(dom.find("data-verdict=\"mixed\" data-flaky=\"true\""), std::string::npos);

  // The failing scenario: a timeline with its fault marks, lines and window.
  std::string failing = detail_of(dom, "epipe-on-identity", "builtin");
  ASSERT_NE(failing, "");
  EXPECT_NE(failing.find("<svg class=\"timeline\""), std::string::npos);
  EXPECT_EQ(count_of(failing, "class=\"mark fault\""), 2u);  // the mux's and worker-good-3's
  // Every fault, across all rows of the timeline (and the resource charts).
  const std::string timeline =
      failing.substr(0, failing.find("</svg>", failing.find("<svg class=\"timeline\"")));
  EXPECT_EQ(count_of(timeline, "class=\"faultline\""), 4u);
  EXPECT_EQ(count_of(failing, "class=\"mark killed\""), 1u);
  EXPECT_GE(count_of(failing, "<rect class=\"window\""), 3u);  // timeline, fds and RSS
  EXPECT_EQ(count_of(failing, "<g class=\"proc\""), 11u);      // the mux and 10 workers
  EXPECT_NE(failing.find("faultmux run scenarios/epipe-on-identity.toml --seed 7"),
            std::string::npos);
  // What happened leads the entry; the mux's listen queue is charted beside fds and RSS.
  const auto headline = failing.find(
      "<p class=\"headline\">3 of 10 workers could not connect (EPIPE at connect); 1 lost after "
      "connecting; the listener survived</p>");
  EXPECT_NE(headline, std::string::npos);
  EXPECT_LT(headline, failing.find("<h4>Expectations</h4>"));
  EXPECT_NE(failing.find("<svg class=\"chart\" viewBox=\"0 0 470 160\" width=\"470\" "
                         "height=\"160\" role=\"img\" aria-label=\"mux listen queue (Recv-Q)\">"),
            std::string::npos);
  EXPECT_NE(failing.find("backlog 10, max message 134217728 B"), std::string::npos);
  // The evidence's markup is text: nothing ran (no console error above) and it reads as written.
  EXPECT_NE(
      failing.find("&lt;script&gt;console.error('not escaped')&lt;/script&gt; &amp; \"quoted\""),
      std::string::npos);
  EXPECT_EQ(count_of(dom, "<script"), 0u);
  EXPECT_NE(failing.find("… and 5 more lines in results.json"), std::string::npos);
  // 2000 workers: summarised by group, the hit processes drawn.
  std::string storm = detail_of(dom, "stall-during-storm", "builtin");
  EXPECT_NE(storm.find("<svg class=\"groups\""), std::string::npos);
  EXPECT_NE(storm.find("2000 processes: too many to draw one row each"), std::string::npos);
  EXPECT_LE(count_of(storm, "<g class=\"proc\""), 30u);
  EXPECT_GE(count_of(storm, "<g class=\"proc\""), 4u);  // the mux and the 3 hit workers
  // Could not run: no timeline, its reason shown.
  std::string broken = detail_of(dom, "broken-target", "builtin");
  EXPECT_EQ(broken.find("<svg class=\"timeline\""), std::string::npos);
  EXPECT_NE(broken.find("No such file or directory (ENOENT)"), std::string::npos);

  chart_layout l = chart_labels(chromium, page);
  EXPECT_GE(l.charts, 10) << "timelines, histograms and charts";
  EXPECT_EQ(l.overflowing, "") << "labels drawn outside their drawing";
  screenshot(chromium, page, screenshot_dir + "/screenshot.png");
  std::printf("page: %s (%ju bytes)\n", page.c_str(), static_cast<std::uintmax_t>(size));
}

// The console check can fail: a page that logs an error is caught.
TEST(HtmlReportBrowser, ConsoleErrorsAreSeen) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << no_chromium;
  run_dir dir;
  std::ofstream(dir.file("bad.html"))
      << "<!DOCTYPE html><html><body><p>x</p><script>console.error('probe-error');"
         "undefined_function();</script></body></html>";
  std::string console;
  dump_dom(chromium, dir.file("bad.html"), &console);
  EXPECT_NE(console.find("probe-error"), std::string::npos) << console;
  EXPECT_NE(console.find("Uncaught"), std::string::npos) << console;
}

// The measurement can fail: a label drawn past its chart's edge is seen.
TEST(HtmlReportBrowser, ChartLabelsOutsideTheirChartAreSeen) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << no_chromium;
  run_dir dir;
  std::ofstream(dir.file("chart.html"))
      << "<!DOCTYPE html><html><body><svg class=\"chart\" viewBox=\"0 0 100 50\" width=\"100\" "
         "height=\"50\"><text x=\"10\" y=\"20\">in</text><text x=\"95\" y=\"40\">"
         "far past the edge</text></svg></body></html>";
  chart_layout l = chart_labels(chromium, dir.file("chart.html"));
  EXPECT_EQ(l.charts, 1);
  EXPECT_NE(l.overflowing.find("far past the edge"), std::string::npos) << l.overflowing;
  EXPECT_EQ(l.overflowing.find("in "), std::string::npos) << l.overflowing;
}

// A real run through the driver, rendered from its results.json.
// An exploration's page in Chromium: no console error, the map's failing
// cell links the violation's row, which holds its command.
TEST(HtmlReportBrowser, ExplorationRendersInChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << no_chromium;
  json doc = {{"schema", "faultmux-explore/1"},
              {"scenario", "plain-echo"},
              {"target", "builtin"},
              {"legacy_bugs", {"accept-crash"}},
              {"seed", 1},
              {"certificate", {{"points", 3}, {"runs", 2}, {"violations", 1}, {"complete", true}}},
              {"runs",
               {{{"point", "accept4@listener #1"},
                 {"phase", "accept"},
                 {"call", "accept4"},
                 {"effect", "EMFILE"},
                 {"fault_class", "resource"},
                 {"ran", true},
                 {"activated", true},
                 {"verdict", "fail"},
                 {"why", "listener alive: <probe> refused"},
                 {"command", "faultmux run found/x.toml --seed 1"},
                 {"reproduced", "5/5"}},
                {{"point", "recv@accepted peer=good:0 phase=stream #1"},
                 {"phase", "stream"},
                 {"call", "recv"},
                 {"effect", "EAGAIN"},
                 {"fault_class", "transient"},
                 {"ran", true},
                 {"activated", true},
                 {"verdict", "pass"}}}}};
  run_dir dir;
  std::ofstream(dir.file("explore.html")) << reports::render_explore_html(doc);
  std::string console;
  std::string dom = dump_dom(chromium, dir.file("explore.html"), &console);
  EXPECT_EQ(console, "");
  EXPECT_NE(dom.find("<td class=\"cell v-fail\"><a href=\"#violation-0\">1 fail / 0 pass</a>"),
            std::string::npos)
      << dom;
  EXPECT_NE(dom.find("<tr id=\"violation-0\">"), std::string::npos);
  EXPECT_NE(dom.find("listener alive: &lt;probe&gt; refused"), std::string::npos);
  EXPECT_NE(dom.find("<td class=\"cell v-pass\"><span>1 pass</span></td>"), std::string::npos);
}

TEST(HtmlReportBrowser, RealRunRendersInChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << no_chromium;
  run_dir tmp, files, out;
  std::ofstream(files.file("quick.toml")) << test::passing_scenario;
  std::ofstream(files.file("hung.toml")) << test::failing_scenario;
  auto p = child_process::spawn(
      {"/usr/bin/env", "TMPDIR=" + tmp.path(), test::binary(), "run", files.file("quick.toml"),
       files.file("hung.toml"), "--report", out.path()},
      true);
  std::string text;
  while (auto line = p.read_line(ms(60000))) text += *line + "\n";
  auto st = p.wait(ms(60000));
  ASSERT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 1) << text;
  const std::string page_dir = screenshot_dir + "/run";
  auto rendered = run_faultmux({"report", out.file("results.json"), "-o", page_dir});
  ASSERT_EQ(rendered.status, 0) << rendered.err;
  const std::string page = page_dir + "/index.html";
  EXPECT_LT(fs::file_size(page), 2u * 1024 * 1024);
  std::string console;
  std::string dom = dump_dom(chromium, page, &console);
  EXPECT_EQ(console, "");
  auto m = matrix_of(dom);
  EXPECT_EQ(m["quick @ builtin"], "pass");
  EXPECT_EQ(m["hung @ builtin"], "fail");
  EXPECT_EQ(m["hung @ mitogen"], "not-run");
  std::string hung = detail_of(dom, "hung", "builtin");
  ASSERT_NE(hung, "");
  EXPECT_NE(hung.find("still running after the " +
                      std::to_string(1000 * test::scenario_time_factor) + " ms"),
            std::string::npos);
  EXPECT_NE(hung.find("faultmux run " + files.file("hung.toml") + " --seed 1"), std::string::npos);
  // A results.json with the timeline (schema 2) draws it, the phase fault marked.
  json results = json::parse(test::slurp(out.file("results.json")));
  const json& entry = results["scenarios"][1];
  if (entry.contains("timeline") && entry["timeline"].is_object()) {
    EXPECT_NE(hung.find("<svg class=\"timeline\""), std::string::npos);
    EXPECT_GE(count_of(hung, "class=\"faultline\""), 1u);
  }
  // Axis values, the "max" label and the timeline's names stay inside.
  chart_layout l = chart_labels(chromium, page);
  EXPECT_GE(l.charts, 4) << "no timelines and resource charts drawn";
  EXPECT_EQ(l.overflowing, "") << "labels drawn outside their drawing";
  screenshot(chromium, page, screenshot_dir + "/screenshot-run.png");
}

}  // namespace
}  // namespace faultmux
