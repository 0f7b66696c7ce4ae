// `faultmux report --merge`: several runs' results.json side by side in one
// matrix (one run against the built-in mux, one against Mitogen), where
// without --merge the newest is shown with a history of the others; a
// column two runs share is split, one per run.
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reports/html.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test {
namespace {

using json = nlohmann::json;
using testing::HasSubstr;
using testing::Not;

const std::string fixture_path =
    std::string(FAULTMUX_SOURCE_DIR) + "/tests/reports/fixture-results.json";

// The fixture's entries of one target (no legacy bugs, first repeats), as
// a run of its own started at `started`.
json run_of(const std::string& target, const std::string& started) {
  json doc = json::parse(slurp(fixture_path));
  json kept = json::array();
  for (auto& e : doc["scenarios"])
    if (e["target"] == target && e["legacy_bugs"].empty() && e["repeat"] == 1) {
      if (target == "mitogen") e["target_version"] = "mitogen 0.3.3 /usr/lib/python3/dist-packages";
      kept.push_back(e);
    }
  doc["scenarios"] = kept;
  doc["run"]["started"] = started;
  doc["run"]["command_line"] = "faultmux run scenarios --target " + target;
  return doc;
}

std::string cell(const std::string& scenario, const std::string& target,
                 const std::string& verdict) {
  return "data-scenario=\"" + scenario + "\" data-target=\"" + target + "\" data-verdict=\"" +
         verdict + "\"";
}

TEST(ReportMerge, RunsOfTwoTargetsAreOneMatrix) {
  json m = reports::merge_runs(
      {run_of("builtin", "2026-11-26T21:30:05Z"), run_of("mitogen", "2026-11-25T10:00:00Z")});
  EXPECT_EQ(m["run"]["started"], "2026-11-25T10:00:00Z");  // the earliest
  EXPECT_EQ(m["run"]["command_line"],
            "faultmux run scenarios --target builtin; faultmux run scenarios --target mitogen");
  const std::string page = reports::render_html({m});
  EXPECT_THAT(page, HasSubstr(cell("eagain-first-recv", "builtin", "pass")));
  EXPECT_THAT(page, HasSubstr(cell("eagain-first-recv", "mitogen", "pass")));
  EXPECT_THAT(page, HasSubstr(cell("epipe-on-identity", "builtin", "fail")));
  EXPECT_THAT(page, HasSubstr(cell("epipe-on-identity", "mitogen", "fail")));
  EXPECT_THAT(page, HasSubstr("<th>Mitogen 0.3.3</th>"));
  EXPECT_THAT(page, Not(HasSubstr("id=\"history\"")));
}

TEST(ReportMerge, AColumnTwoRunsShareIsSplitPerRun) {
  json later = run_of("builtin", "2026-11-27T00:00:00Z");
  for (auto& e : later["scenarios"]) e["verdict"] = "pass";
  json m = reports::merge_runs({run_of("builtin", "2026-11-26T21:30:05Z"), later});
  const std::string page = reports::render_html({m});
  EXPECT_THAT(page, HasSubstr("<th>built-in mux</th><th>built-in mux (run 2)</th>"));
  EXPECT_THAT(page, HasSubstr(cell("epipe-on-identity", "builtin", "fail")));
  EXPECT_THAT(page, HasSubstr(cell("epipe-on-identity", "builtin@2", "pass")));
  // Not one cell of two entries: nothing is taken for flaky.
  EXPECT_THAT(page, Not(HasSubstr("data-flaky")));
}

TEST(ReportMergeCommand, MergesTwoResultsFilesOfDifferentTargets) {
  run_dir dir;
  std::ofstream(dir.file("a.json")) << run_of("builtin", "2026-11-26T21:30:05Z").dump();
  std::ofstream(dir.file("b.json")) << run_of("mitogen", "2026-11-27T10:00:00Z").dump();
  auto merged = fault::run_faultmux(
      dir, {"report", "--merge", dir.file("a.json"), dir.file("b.json"), "-o", dir.file("m")});
  ASSERT_TRUE(merged.exited(0)) << merged.describe();
  EXPECT_EQ(merged.out, dir.file("m") + "/index.html\n");
  std::string page = slurp(dir.file("m/index.html"));
  EXPECT_THAT(page, HasSubstr(cell("eagain-first-recv", "builtin", "pass")));
  EXPECT_THAT(page, HasSubstr(cell("eagain-first-recv", "mitogen", "pass")));

  // Without --merge, a series: the newest in full, the other in the history.
  auto series = fault::run_faultmux(
      dir, {"report", dir.file("a.json"), dir.file("b.json"), "-o", dir.file("h")});
  ASSERT_TRUE(series.exited(0)) << series.describe();
  page = slurp(dir.file("h/index.html"));
  EXPECT_THAT(page, HasSubstr("History of 2 runs"));
  EXPECT_THAT(page, Not(HasSubstr(cell("eagain-first-recv", "builtin", "pass"))));
}

}  // namespace
}  // namespace faultmux::test
