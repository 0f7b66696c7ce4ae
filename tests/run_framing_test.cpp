// How a run is framed for the person reading it: a run that did not start
// every worker is an error that says why; the probe is faulted only by a
// rule that names it; a failed scenario leads with a plain summary of what
// happened; a group's outcomes can be counted.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/oracles.hpp"
#include "harness/scenario.hpp"
#include "reports/html.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using test::exit_code;
using test::ran;
using test::run_cli;
using test::run_dir;

struct run_with_report {
  ran r;
  json results;
  std::string junit;
};

run_with_report run_text(const std::string& name, const std::string& text,
                         std::vector<std::string> extra = {}) {
  run_dir tmp, files;
  std::ofstream(files.file(name + ".toml")) << text;
  std::vector<std::string> args{files.file(name + ".toml"), "--report", files.file("r")};
  args.insert(args.end(), extra.begin(), extra.end());
  run_with_report out{run_cli(tmp.path(), args, ms(60000)), {}, {}};
  out.results = json::parse(test::slurp(files.file("r/results.json")));
  out.junit = test::slurp(files.file("r/junit.xml"));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path())) << "a run directory was left";
  return out;
}

// A worker hangs until the timeout; the group due after it never starts.
const char* shrunk_scenario = R"(name = "shrunk"
description = "a group due after the run's end"
origin = "run_framing_test"
timeout_ms = 1500

[[workers]]
name = "stuck"
workload = "connect"
fault_at = "connected:SIGSTOP"

[[workers]]
name = "late"
count = 3
workload = "connect"
start_after_ms = 600000
)";

TEST(RunFraming, AGroupThatDidNotStartIsAnErrorWithItsReasonEverywhere) {
  run_with_report w = run_text("shrunk", shrunk_scenario);
  const std::string why =
      "group late: 0 of 3 workers started: the run ended before its start_after_ms (600000 ms) "
      "came";
  EXPECT_EQ(exit_code(w.r), 1) << w.r.out;
  EXPECT_THAT(w.r.out, HasSubstr("ERROR shrunk: 3 of 4 workers never started; "));
  EXPECT_THAT(w.r.out, HasSubstr("  ! " + why + "\n"));
  EXPECT_THAT(w.r.out, HasSubstr("0 passed, 0 failed, 1 error"));
  const json& e = w.results["scenarios"][0];
  EXPECT_EQ(e["verdict"], "error");
  EXPECT_EQ(e["notices"], json::array({why}));
  EXPECT_EQ(e["oracles"][0]["name"], "workers started");
  EXPECT_EQ(e["oracles"][0]["verdict"], "error");
  EXPECT_EQ(w.results["summary"]["error"], 1);
  // The timeline holds a placeholder row per worker that never ran.
  int placeholders = 0;
  for (const auto& p : e["timeline"]["processes"])
    if (p["outcome"] == "not started") ++placeholders;
  EXPECT_EQ(placeholders, 3);
  EXPECT_THAT(w.junit, HasSubstr("<error message="));
  const std::string html = reports::render_html({w.results});
  EXPECT_THAT(html, HasSubstr("<ul class=\"notices\"><li>" + why + "</li></ul>"));
  EXPECT_THAT(html, HasSubstr("data-outcome=\"not started\""));
  EXPECT_THAT(html, HasSubstr("life placeholder"));
}

std::string probe_scenario(const std::string& rule, const std::string& expect) {
  return R"(name = "probe-rule"
description = "a syscall rule on the mux's accepted sockets"
origin = "run_framing_test"
timeout_ms = 5000

[[workers]]
name = "good"
count = 2
workload = "connect"

[[faults]]
kind = "syscall"
rule = ")" +
         rule + "\"\n" + expect;
}

// Every first recv on an accepted socket fails: the workers' handshakes go,
// and the probe's does not, so "listener alive" passes.
TEST(RunFraming, APerFdRuleLeavesTheProbeAlone) {
  run_with_report w =
      run_text("probe-rule", probe_scenario("recv@accepted #1 per-fd -> ECONNRESET", R"(
[[expect.outcomes]]
group = "good"
outcome = "cannot-connect"

[expect]
disconnected_groups = ["good"]
)"),
               {"-v"});
  EXPECT_THAT(w.r.out, HasSubstr("  listener alive: pass\n"));
  EXPECT_THAT(w.r.out, HasSubstr("which no syscall rule of this scenario faults"));
  EXPECT_THAT(w.r.out, HasSubstr("syscall fault 'recv@accepted #1 per-fd -> ECONNRESET' fired 2 "
                                 "time(s)"));
}

// The same rule naming the probe faults it, and only it: the listener is
// reported as not answering the probe, in the headline first.
TEST(RunFraming, PeerProbeFaultsTheProbeAndTheHeadlineLeads) {
  run_with_report w = run_text(
      "probe-rule", probe_scenario("recv@accepted peer=probe #1 per-fd -> ECONNRESET", ""));
  EXPECT_EQ(exit_code(w.r), 1) << w.r.out;
  const std::string headline =
      "0 of 2 workers could not connect; 0 lost after connecting; the listener did not answer the "
      "probe (probe: cannot connect to ";
  EXPECT_THAT(w.r.out, HasSubstr("FAIL probe-rule: " + headline));
  EXPECT_THAT(w.r.out, HasSubstr("  listener alive: fail\n"));
  EXPECT_THAT(w.r.out, HasSubstr("faults on purpose"));
  const json& e = w.results["scenarios"][0];
  EXPECT_THAT(e["headline"].get<std::string>(), HasSubstr(headline));
  EXPECT_THAT(w.junit, HasSubstr("<failure message=\"" + headline));
  // The target's settings, and its accept queue sampled beside fds and RSS.
  EXPECT_EQ(e["target_settings"]["backlog"], 2);
  EXPECT_EQ(e["target_settings"]["unidirectional"], false);
  EXPECT_EQ(e["resources"]["listen_backlog"], 2);
  ASSERT_FALSE(e["resources"]["samples"].empty());
  for (const auto& s : e["resources"]["samples"]) EXPECT_TRUE(s.contains("accept_queue")) << s;
}

// Counts: 60 workers that do not retry against a stopped mux with a backlog
// of 20; at least 20 connect and the rest fail with EAGAIN. Asking for more
// than the queue holds fails with the count.
TEST(RunFraming, CountedOutcomesAreJudgedByTheirCounts) {
  std::string text =
      test::slurp(FAULTMUX_SOURCE_DIR "/scenarios/backlog-below-forks-no-retry.toml");
  const std::string from = "outcome = \"connected\"\nmin = 20";
  ASSERT_NE(text.find(from), std::string::npos) << text;
  text.replace(text.find(from), from.size(), "outcome = \"connected\"\nmin = 30");
  run_with_report w = run_text("more", text);
  EXPECT_EQ(exit_code(w.r), 1) << w.r.out;
  EXPECT_THAT(w.r.out, HasSubstr("workers connected (expected at least 30)"));
  EXPECT_THAT(w.r.out, HasSubstr("workers could not connect (EAGAIN at connect)"));
}

TEST(RunFraming, CountsAreCheckedWhenLoaded) {
  const std::string head = R"(name = "c"
description = "counts"
origin = "run_framing_test"

[[workers]]
name = "g"
count = 4

[[expect.outcomes]]
group = "g"
outcome = "cannot-connect"
)";
  EXPECT_THROW(parse_scenario(head + "min = 3\nmax = 2\n", "c.toml"), scenario_error);
  EXPECT_THROW(parse_scenario(head + "fraction = 1.5\n", "c.toml"), scenario_error);
  EXPECT_THROW(parse_scenario(head + "min = -1\n", "c.toml"), scenario_error);
  scenario s = parse_scenario(head + "fraction = 0.5\nmax = 3\n", "c.toml");
  EXPECT_EQ(s.expect.outcomes[0].fraction, 0.5);
  EXPECT_EQ(s.expect.outcomes[0].max, 3);
  EXPECT_TRUE(s.expect.outcomes[0].counted());
}

// The headline is computed from the outcome counts, the failed connects'
// errnos and the probe.
TEST(RunFraming, HeadlineSaysWhoCouldNotConnectWhoWasLostAndTheListener) {
  reports::timeline_info rows;
  rows.groups.push_back({"forks", "worker", 40, {{"ok", 38}, {"refused", 1}, {"disconnected", 1}}});
  timeline tl = wire::parse_event_lines(
      R"({"t":1.0,"pid":503,"event":"connect_failed","errno":"EAGAIN","detail":"x"})"
      "\n",
      "worker-forks-3");
  run_outcome o;
  o.processes.push_back({"worker-forks-3", "forks", 503, 3 << 8});
  o.probe_ok = true;
  const std::vector<oracle_result> oracles{{"listener alive", verdict::pass, {}},
                                           {"nothing lost", verdict::fail, {}},
                                           {"call outcomes", verdict::fail, {}}};
  EXPECT_EQ(run_headline(rows, tl, o, false, oracles),
            "1 of 40 workers could not connect (EAGAIN at connect); 1 lost after connecting; the "
            "listener survived; failed: nothing lost, call outcomes");
  EXPECT_EQ(run_headline(rows, tl, o, false, {}),
            "1 of 40 workers could not connect (EAGAIN at connect); 1 lost after connecting; the "
            "listener survived");
  o.probe_ok = false;
  o.probe_detail = "probe: the mux is gone (killed by SIGKILL)";
  EXPECT_THAT(run_headline(rows, tl, o, false, oracles),
              HasSubstr("the listener died (killed by SIGKILL)"));
}

}  // namespace
}  // namespace faultmux
