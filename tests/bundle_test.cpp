// One command, one report: `run --report DIR` writes index.html too;
// `--legacy-bug` runs each scenario clean as well, so the matrix shows the
// bug's column beside the clean one; `run --bundle DIR` writes what a bug
// report needs (the report, the scenario files, rerun.sh, summary.md), and
// its rerun.sh gives the same verdicts. exit-after-pid with epipe-crash:
// the clean mux passes it, the legacy listener dies of the EPIPE.
#include <sys/wait.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/bundle.hpp"
#include "reports/bug_summary.hpp"
#include "roles/process.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {
namespace {

using json = nlohmann::json;
using testing::HasSubstr;
using testing::Not;
namespace fs = std::filesystem;

const std::string scenario = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/exit-after-pid.toml";

// "name|target|bugs" -> verdict, for every entry of a results.json.
std::map<std::string, std::string> verdicts(const std::string& results) {
  std::map<std::string, std::string> out;
  json j = json::parse(slurp(results));
  for (const auto& e : j["scenarios"])
    out[e["name"].get<std::string>() + "|" + e["target"].get<std::string>() + "|" +
        e["legacy_bugs"].dump()] = e["verdict"];
  return out;
}

TEST(RunReport, LegacyBugColumnStandsBesideTheCleanOneInIndexHtml) {
  run_dir dir;
  auto f = fault::run_faultmux(
      dir, {"run", scenario, "--legacy-bug", "epipe-crash", "--report", dir.file("r")},
      fault::ms(60000));
  ASSERT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("PASS exit-after-pid ("));
  EXPECT_THAT(f.out, HasSubstr("FAIL exit-after-pid [legacy bug: epipe-crash]: "));
  EXPECT_THAT(f.out, HasSubstr("1 passed, 1 failed"));
  EXPECT_THAT(f.out, HasSubstr("report: " + dir.file("r") + "/index.html, "));
  EXPECT_EQ(
      verdicts(dir.file("r/results.json")),
      (std::map<std::string, std::string>{{"exit-after-pid|builtin|[]", "pass"},
                                          {"exit-after-pid|builtin|[\"epipe-crash\"]", "fail"}}));
  const std::string page = slurp(dir.file("r/index.html"));
  EXPECT_THAT(page, HasSubstr("<th>built-in mux</th>"));
  EXPECT_THAT(page, HasSubstr("<th>legacy bug: epipe-crash</th>"));
  EXPECT_THAT(page, HasSubstr("data-scenario=\"exit-after-pid\" data-target=\"builtin\" "
                              "data-verdict=\"pass\""));
  EXPECT_THAT(page, HasSubstr("data-scenario=\"exit-after-pid\" data-target=\"legacy:epipe-crash\" "
                              "data-verdict=\"fail\""));
}

TEST(RunBundle, HoldsWhatABugReportNeedsAndRerunsToTheSameVerdicts) {
  run_dir dir, elsewhere;
  const std::string b = dir.file("bundle");
  auto f = fault::run_faultmux(
      dir, {"run", scenario, "--seed", "1", "--legacy-bug", "epipe-crash", "--bundle", b},
      fault::ms(60000));
  ASSERT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("bundle: " + b + "/summary.md"));
  for (const char* file : {"index.html", "results.json", "junit.xml", "rerun.sh", "summary.md"})
    EXPECT_TRUE(fs::is_regular_file(b + "/" + file)) << file;
  EXPECT_EQ(slurp(b + "/scenarios/exit-after-pid.toml"), slurp(scenario));
  const std::string script = slurp(b + "/rerun.sh");
  EXPECT_THAT(script, HasSubstr("\"${FAULTMUX:-faultmux}\" run scenarios/exit-after-pid.toml "
                                "--seed 1 --legacy-bug epipe-crash \"$@\""));
  EXPECT_NE(fs::status(b + "/rerun.sh").permissions() & fs::perms::owner_exec, fs::perms::none);

  const std::string md = slurp(b + "/summary.md");
  EXPECT_THAT(md, HasSubstr("# faultmux: exit-after-pid on legacy bug: epipe-crash fails\n"));
  EXPECT_THAT(md, HasSubstr("## Expected\n\n- **exit-after-pid on legacy bug: epipe-crash** "
                            "(`scenarios/exit-after-pid.toml`, seed 1): a worker sends"));
  EXPECT_THAT(md, HasSubstr("## Actual\n\n- exit-after-pid on built-in mux: **pass**\n"
                            "- exit-after-pid on legacy bug: epipe-crash: **fail**: "));
  EXPECT_THAT(md, HasSubstr("## Evidence\n\n### exit-after-pid on legacy bug: epipe-crash\n\n"
                            "Failed expectations:\n\n```text\n"));
  // Which others fail depends on timing; the closed listener always does.
  EXPECT_THAT(md, HasSubstr("- listener alive: After the faults a fresh client"));
  EXPECT_THAT(md, HasSubstr("\nlistener alive:\n  probe: cannot connect to "));
  // The mux's own error lines: its legacy listener closed on the EPIPE.
  EXPECT_THAT(md, HasSubstr("First error lines of the mux's log:\n\n```text\n+"));
  EXPECT_THAT(md, HasSubstr("failed: EPIPE (Broken pipe): the listener is closed"));
  EXPECT_THAT(md, HasSubstr("faultmux run scenarios/exit-after-pid.toml --seed 1 --legacy-bug "
                            "epipe-crash\n"));
  EXPECT_THAT(md, HasSubstr("## Environment\n\n- faultmux "));

  // rerun.sh from another directory, with this build's faultmux.
  auto p = child_process::spawn(
      {"/usr/bin/env", "-C", elsewhere.path(), std::string("FAULTMUX=") + binary(), "/bin/sh",
       b + "/rerun.sh", "--report", elsewhere.file("again")},
      true);
  std::string text;
  while (auto line = p.read_line(fault::ms(60000))) text += *line + "\n";
  auto st = p.wait(fault::ms(60000));
  ASSERT_TRUE(st && WIFEXITED(*st)) << text;
  EXPECT_EQ(WEXITSTATUS(*st), 1) << text;
  EXPECT_EQ(verdicts(elsewhere.file("again/results.json")), verdicts(b + "/results.json")) << text;
}

// --report elsewhere: the bundle copies the report.
TEST(RunBundle, CopiesAReportWrittenElsewhere) {
  run_dir dir;
  auto f = fault::run_faultmux(
      dir, {"run", scenario, "--report", dir.file("r"), "--bundle", dir.file("b")},
      fault::ms(60000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_EQ(slurp(dir.file("b/results.json")), slurp(dir.file("r/results.json")));
  EXPECT_TRUE(fs::is_regular_file(dir.file("b/index.html")));
  const std::string md = slurp(dir.file("b/summary.md"));
  EXPECT_THAT(md, HasSubstr("# faultmux: every scenario passed\n"));
  EXPECT_THAT(md, HasSubstr("Nothing failed."));
  EXPECT_THAT(slurp(dir.file("b/rerun.sh")),
              HasSubstr(" run scenarios/exit-after-pid.toml \"$@\""));
}

TEST(BundleRerun, RepeatsEveryOptionThatChangesTheRun) {
  driver_options d;
  d.seed = 9;
  d.target = "mitogen";
  d.mitogen_src = "/src/mitogen";
  d.legacy_bugs = {"a", "b"};
  d.repeat = 3;
  d.filter = "x*";  // the bundle holds only the files that ran
  EXPECT_EQ(rerun_options(d),
            (std::vector<std::string>{"--seed", "9", "--target", "mitogen", "--mitogen-src",
                                      "/src/mitogen", "--legacy-bug", "a", "--legacy-bug", "b",
                                      "--repeat", "3"}));
  EXPECT_EQ(sh_quote("scenarios/a.toml"), "scenarios/a.toml");
  EXPECT_EQ(sh_quote("it's here"), "'it'\\''s here'");
  EXPECT_EQ(sh_quote(""), "''");
}

// summary.md from a results document alone: the failing scenario's runs
// in full, the others counted; evidence cannot end its fence early.
TEST(BugSummary, SpellsOutTheFailureAndCountsTheRest) {
  json mux = {{"name", "mux"},
              {"role", "mux"},
              {"marks",
               {{{"t", 0.5}, {"kind", "error"}, {"text", "listener closed (EPIPE)"}},
                {{"t", 0.6}, {"kind", "spawn"}, {"text", "not an error"}}}}};
  json failed = {{"name", "a"},
                 {"file", "scenarios/a.toml"},
                 {"description", "what a does"},
                 {"target", "builtin"},
                 {"legacy_bugs", {"epipe-crash"}},
                 {"seed", 4},
                 {"verdict", "fail"},
                 {"rerun", "faultmux run scenarios/a.toml --seed 4 --legacy-bug epipe-crash"},
                 {"oracles",
                  {{{"name", "listener alive"}, {"verdict", "fail"}, {"evidence", {"probe: ```x"}}},
                   {{"name", "finished"}, {"verdict", "pass"}, {"evidence", json::array()}}}},
                 {"timeline", {{"processes", {mux}}}}};
  json clean = {
      {"name", "a"}, {"target", "builtin"}, {"legacy_bugs", json::array()}, {"verdict", "pass"}};
  json other = {{"name", "b"}, {"target", "builtin"}, {"verdict", "pass"}};
  json run = {{"run", {{"faultmux_version", "0.2.0"}}}, {"scenarios", {clean, failed, other}}};
  const std::string md = reports::bug_summary_markdown(run, "faultmux run scenarios/a.toml");
  EXPECT_THAT(md, HasSubstr("# faultmux: a on legacy bug: epipe-crash fails\n"));
  EXPECT_THAT(md, HasSubstr("- **a on legacy bug: epipe-crash** (`scenarios/a.toml`, seed 4): "
                            "what a does\n  - listener alive: After the faults"));
  EXPECT_THAT(md, HasSubstr("- a on built-in mux: **pass**\n- a on legacy bug: epipe-crash: "
                            "**fail**: listener alive: probe: ```x\n- and 1 more run of other "
                            "scenarios, none failed"));
  EXPECT_THAT(md, HasSubstr("```text\nlistener alive:\n  probe: '''x\n```\n"));
  EXPECT_THAT(md, HasSubstr("First error lines of the mux's log:\n\n```text\n+0.500s listener "
                            "closed (EPIPE)\n```\n"));
  EXPECT_THAT(md, Not(HasSubstr("not an error")));
  EXPECT_THAT(md, HasSubstr("```sh\nfaultmux run scenarios/a.toml\n```"));
  EXPECT_THAT(md, HasSubstr("Each failure alone:\n\n```sh\nfaultmux run scenarios/a.toml "
                            "--seed 4 --legacy-bug epipe-crash\n```"));
}

}  // namespace
}  // namespace faultmux::test
