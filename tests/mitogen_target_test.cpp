// `faultmux run --target mitogen` and external targets: Mitogen 0.3.3's log
// lines become events the oracles read, what only faultmux's mux records is
// reported not applicable, Mitogen's verdicts are findings (exit 1, never a
// driver error), and nothing is left behind.
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/external_target.hpp"
#include "harness/timeline.hpp"
#include "roles/process.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
using test::exit_code;
using test::processes_mentioning;
using test::ran;
using test::run_cli;
using test::run_dir;

bool mitogen_installed() {
  return std::filesystem::exists("/usr/lib/python3/dist-packages/mitogen/core.py");
}

TEST(ExternalTarget, LogLinesBecomeEvents) {
  run_dir dir;
  std::ofstream(dir.file("mux.stderr"))
      << "2024-05-01 12:00:00,100 mitogen_mux[42] INFO mitogen: started\n"
         "2024-05-01 12:00:00,200 mitogen_mux[42] ERROR mitogen.unix: listener: failed to read "
         "remote identity: [Errno 11] Resource temporarily unavailable\n"
         "2024-05-01 12:00:00,300 mitogen_mux[42] ERROR mitogen: unix_client.7: exception\n"
         "Traceback (most recent call last):\n"
         "  File \"core.py\", line 1, in f\n"
         "OSError: [Errno 32] Broken pipe\n"
         "2024-05-01 12:00:00,400 mitogen_mux[42] WARNING mitogen: slow\n"
         "mitogen_mux.py: the Mitogen broker thread died\n";
  int n = log_to_events(dir.file("mux.stderr"), dir.file("mux.events"), 42, mitogen_log_patterns(),
                        1.0);
  ASSERT_EQ(n, 6);
  timeline tl = read_events_file(dir.file("mux.events"), "mux");
  ASSERT_EQ(tl.size(), 6u);
  // The INFO line is no event; the identity error is a log line and its event.
  EXPECT_EQ(tl[0].event(), "log");
  EXPECT_TRUE(is_error_line(tl[0]));
  EXPECT_EQ(tl[0].pid(), 42);
  EXPECT_EQ(tl[0].str("role"), "mux");
  EXPECT_EQ(tl[1].event(), "identity_failed");
  // A traceback's exception is kept with the line that logged it.
  EXPECT_EQ(tl[2].str("msg"), "mitogen: unix_client.7: exception: OSError: [Errno 32] Broken pipe");
  EXPECT_EQ(tl[3].str("level"), "warning");
  // Lines carry their own times, 100 ms apart.
  EXPECT_NEAR(tl[3].t - tl[0].t, 0.2, 0.01);
  // A line outside the logging format becomes an error through its pattern.
  EXPECT_EQ(tl[4].str("level"), "critical");
  EXPECT_EQ(tl[5].event(), "broker_died");
}

TEST(ExternalTarget, CommandIsSubstituted) {
  target_spec base;
  base.max_message_size = 4096;
  target_spec t = mitogen_target(base);
  EXPECT_EQ(t.kind, target_spec::kind_t::external);
  auto argv = external_argv(t, "/tmp/x.sock", 7);
  std::vector<std::string> want{"/usr/bin/python3",   source_dir() + "/scenarios/mitogen_mux.py",
                                "--listen",           "/tmp/x.sock",
                                "--backlog",          "7",
                                "--max-message-size", "4096"};
  EXPECT_EQ(argv, want);
}

TEST(ExternalTarget, AMitogenSourceTreeIsGivenToTheLauncher) {
  target_spec t = mitogen_target(target_spec{}, "/src/mitogen-checkout");
  auto argv = external_argv(t, "/tmp/x.sock", 7);
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv[argv.size() - 2], "--mitogen-src");
  EXPECT_EQ(argv.back(), "/src/mitogen-checkout");
  auto installed = external_argv(mitogen_target(target_spec{}), "/tmp/x.sock", 7);
  EXPECT_EQ(std::count(installed.begin(), installed.end(), "--mitogen-src"), 0);
}

// Mitogen 0.3.3 and current Mitogen (0.3.5x) word the listener's identity
// errors differently; both are the same event.
TEST(ExternalTarget, IdentityErrorsOfOldAndCurrentMitogenAreOneEvent) {
  run_dir dir;
  std::ofstream(dir.file("mux.stderr"))
      << "2024-05-01 12:00:00,100 mitogen_mux[42] ERROR mitogen.unix: listener: failed to read "
         "remote identity: [Errno 11] Resource temporarily unavailable\n"
         "2024-05-01 12:00:00,200 mitogen_mux[42] ERROR mitogen.unix: listener: failed to read "
         "remote identity, got 0 bytes: [Errno 11] Resource temporarily unavailable\n"
         "2024-05-01 12:00:00,300 mitogen_mux[42] ERROR mitogen.unix: listener: failed to assign "
         "identity to PID 77: [Errno 32] Broken pipe\n";
  log_to_events(dir.file("mux.stderr"), dir.file("mux.events"), 42, mitogen_log_patterns(), 1.0);
  timeline tl = read_events_file(dir.file("mux.events"), "mux");
  int identity = 0;
  for (const auto& e : tl) identity += e.event() == "identity_failed";
  EXPECT_EQ(identity, 3);
}

// Hostile workers alone close their own connections, so Mitogen shuts down
// with no client attached: a run Mitogen passes.
const char* bad_magic_alone = R"(name = "bad-magic-alone"
description = "two workers send a frame with the wrong magic"
origin = "mitogen_target_test"
timeout_ms = 20000

[[workers]]
name = "bad"
count = 2
workload = "hostile"
behave = "bad-magic"

[expect]
errors = [{ pattern = "Corruption detected", min = 2, max = 2 }]
disconnected_groups = ["bad"]
)";

TEST(MitogenTarget, AScenarioMitogenPasses) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, files, report;
  std::ofstream(files.file("bad-magic-alone.toml")) << bad_magic_alone;
  ran r = run_cli(tmp.path(), {files.file("bad-magic-alone.toml"), "--target", "mitogen", "-v",
                               "--report", report.path()});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("PASS bad-magic-alone [mitogen]"), std::string::npos) << r.out;
  // Mitogen's own "Corruption detected" lines, read from its stderr.
  EXPECT_NE(r.out.find("mux: 2 error line(s) match /Corruption detected/"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("disconnected groups: not applicable\n    not applicable: the mitogen "
                       "target records no per-stream disconnect events"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mitogen target exit 0 on SIGTERM"), std::string::npos) << r.out;
  auto results = nlohmann::json::parse(test::slurp(report.file("results.json")));
  ASSERT_EQ(results["scenarios"].size(), 1u);
  EXPECT_EQ(results["scenarios"][0]["target"], "mitogen");
  EXPECT_EQ(results["scenarios"][0]["verdict"], "pass");
  EXPECT_NE(test::slurp(report.file("junit.xml")).find("bad-magic-alone [mitogen]"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// EAGAIN on the first recv of every accepted socket, the serve workers'
// too: Mitogen 0.3.3 reads the pid with one plain recv, so EAGAIN drops each
// client with "failed to read remote identity" and the echo group, whose
// peers never got through, cannot start. The target did that: the run fails
// (it is no harness error), and says loudly that it shrank.
TEST(MitogenTarget, PeersTheTargetDroppedLeaveTheEchoGroupUnstartedAndTheRunFails) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, report, files;
  std::string text = test::slurp(FAULTMUX_SOURCE_DIR "/scenarios/eagain-first-recv.toml");
  const std::string rule = "rule = \"recv@accepted peer=good:* #1 per-fd -> EAGAIN\"";
  ASSERT_NE(text.find(rule), std::string::npos);
  text.replace(text.find(rule), rule.size(), "rule = \"recv@accepted#1 per-fd -> EAGAIN\"");
  const std::string file = files.file("eagain-first-recv.toml");
  std::ofstream(file) << text;
  ran r = run_cli(tmp.path(), {file, "--target", "mitogen", "--report", report.path()});
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("FAIL eagain-first-recv [mitogen]: 50 of 52 workers never started; "),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  ! group good: 0 of 50 workers started: no worker of its peer group "
                       "servers said its context id (the target did not let them through)\n"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("failed to read remote identity: [Errno 11]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("worker-servers-0"), std::string::npos) << r.out;
  auto results = nlohmann::json::parse(test::slurp(report.file("results.json")));
  EXPECT_EQ(results["scenarios"][0]["target"], "mitogen");
  EXPECT_EQ(results["scenarios"][0]["verdict"], "fail");
  EXPECT_EQ(results["scenarios"][0]["oracles"][0]["name"], "workers started");
  EXPECT_EQ(results["scenarios"][0]["oracles"][0]["verdict"], "fail");
  EXPECT_EQ(results["scenarios"][0]["notices"].size(), 1u);
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// The built-in scenario faults only the echo workers' handshakes: its
// servers connect, every echo worker starts, and Mitogen 0.3.3 drops each
// one with the field's log line while its listener lives on.
TEST(MitogenTarget, EagainOnTheEchoWorkersFirstRecvDropsThemAndTheListenerLives) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp;
  ran r = run_cli(tmp.path(),
                  {FAULTMUX_SOURCE_DIR "/scenarios/eagain-first-recv.toml", "--target", "mitogen"});
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("FAIL eagain-first-recv [mitogen]: 50 of 52 workers could not connect ("),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("; the listener survived; failed: "), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("never started"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("failed to read remote identity: [Errno 11]"), std::string::npos) << r.out;
}

// `--mitogen-src DIR` imports Mitogen from a source tree: a copy of the
// installed tree gives the same verdicts as the installed package, and the
// rerun commands say where Mitogen came from.
TEST(MitogenTarget, ACopyOfTheInstalledTreeGivesTheSameVerdicts) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, src;
  std::filesystem::copy("/usr/lib/python3/dist-packages/mitogen", src.file("mitogen"),
                        std::filesystem::copy_options::recursive);
  auto verdicts = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{FAULTMUX_SOURCE_DIR "/scenarios", "--filter", "e*", "--target",
                                  "mitogen"};
    args.insert(args.end(), extra.begin(), extra.end());
    ran r = run_cli(tmp.path(), args, ms(120000));
    std::vector<std::string> lines;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);)
      if (l.starts_with("PASS ") || l.starts_with("FAIL ") || l.starts_with("ERROR ") ||
          l.starts_with("N/A "))
        lines.push_back(l.substr(0, l.find(']') + 1));  // "FAIL name [mitogen]"
    return std::make_pair(lines, r.out);
  };
  auto [installed, out_installed] = verdicts({"--report", src.file("installed")});
  auto [copied, out_copied] =
      verdicts({"--mitogen-src", src.path(), "--report", src.file("copied")});
  // results.json names the Mitogen each run imported, and where from.
  auto said = [&](const char* report) {
    auto j = nlohmann::json::parse(test::slurp(src.file(std::string(report) + "/results.json")));
    return j["scenarios"].empty() ? std::string() : j["scenarios"][0].value("target_version", "");
  };
  EXPECT_EQ(said("installed"), "mitogen 0.3.3 /usr/lib/python3/dist-packages");
  EXPECT_EQ(said("copied"), "mitogen 0.3.3 " + src.path());
  EXPECT_GE(installed.size(), 3u) << out_installed;
  EXPECT_EQ(installed, copied) << out_installed << "\n---\n" << out_copied;
  EXPECT_NE(out_copied.find("--mitogen-src " + src.path()), std::string::npos) << out_copied;
}

TEST(MitogenTarget, AMitogenSourceTreeIsChecked) {
  run_dir tmp, empty;
  ran no_target = run_cli(tmp.path(), {FAULTMUX_SOURCE_DIR "/scenarios/plain-echo.toml",
                                       "--mitogen-src", empty.path()});
  EXPECT_EQ(exit_code(no_target), 2);
  ran no_tree = run_cli(tmp.path(), {FAULTMUX_SOURCE_DIR "/scenarios/plain-echo.toml", "--target",
                                     "mitogen", "--mitogen-src", empty.path()});
  EXPECT_EQ(exit_code(no_tree), 2);
}

// Mitogen serves no faultmux.ContextService: a scenario about calls into
// contexts cannot be judged there. It is "not applicable", never a pass;
// against the built-in mux the same file passes.
TEST(MitogenTarget, CallsIntoContextsAreNotApplicableNotPassed) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, report;
  const std::string file = FAULTMUX_SOURCE_DIR "/scenarios/context-killed-mid-call.toml";
  ran r = run_cli(tmp.path(), {file, "--target", "mitogen", "--report", report.path()});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("N/A  context-killed-mid-call [mitogen]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("need faultmux.ContextService"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 passed, 1 not applicable, 0 failed"), std::string::npos) << r.out;
  auto results = nlohmann::json::parse(test::slurp(report.file("results.json")));
  EXPECT_EQ(results["scenarios"][0]["verdict"], "not applicable");
  EXPECT_EQ(results["summary"]["not_applicable"], 1);
  EXPECT_NE(test::slurp(report.file("junit.xml")).find("<skipped"), std::string::npos);

  ran builtin = run_cli(tmp.path(), {file});
  EXPECT_EQ(exit_code(builtin), 0) << builtin.out;
  EXPECT_NE(builtin.out.find("PASS context-killed-mid-call ("), std::string::npos) << builtin.out;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// A scenario whose every group calls into contexts expects mux lines and
// faults that only those calls cause (context-start-failures: the starts'
// socketpair, fork and exec fail): on Mitogen they are not applicable, so
// the scenario is N/A, not a failure nothing in it could have avoided.
TEST(MitogenTarget, LinesAndFaultsOnlyUnservedCallsCauseAreNotApplicable) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp;
  ran r = run_cli(tmp.path(), {FAULTMUX_SOURCE_DIR "/scenarios/context-start-failures.toml",
                               "--target", "mitogen", "-v"});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("N/A  context-start-failures [mitogen]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("errors logged: not applicable"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("syscall fault 'fork role=mux #2 -> EAGAIN': not applicable"),
            std::string::npos)
      << r.out;
}

// --with-mitogen: the same scenario against both targets in one report;
// Mitogen's failure is a finding and leaves the exit status to the built-in
// mux's verdict.
TEST(MitogenTarget, WithMitogenReportsBothTargetsAndJudgesOnlyTheBuiltIn) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, report;
  ran r = run_cli(tmp.path(), {FAULTMUX_SOURCE_DIR "/scenarios/eagain-first-recv.toml",
                               "--with-mitogen", "--report", report.path()});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("PASS eagain-first-recv ("), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("FAIL eagain-first-recv [mitogen]"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("against Mitogen 0.3.3 (findings, not counted in the exit status): 0 "
                       "passed, 1 failed"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\n1 passed, 0 failed\n"), std::string::npos) << r.out;
  auto results = nlohmann::json::parse(test::slurp(report.file("results.json")));
  ASSERT_EQ(results["scenarios"].size(), 2u);
  EXPECT_EQ(results["scenarios"][0]["target"], "builtin");
  EXPECT_EQ(results["scenarios"][0]["verdict"], "pass");
  EXPECT_EQ(results["scenarios"][1]["target"], "mitogen");
  EXPECT_EQ(results["scenarios"][1]["verdict"], "fail");
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// A scenario's own external [target], under the default --target builtin.
const char* own_external = R"(name = "own-external"
description = "a scenario that names its own external target and a log pattern"
origin = "mitogen_target_test"
timeout_ms = 20000

[target]
kind = "external"
command = ["/usr/bin/python3", "{source}/scenarios/mitogen_mux.py", "--listen", "{socket}",
           "--backlog", "{backlog}", "--max-message-size", "{max_message_size}"]
log = [{ pattern = "frame signature incorrect", event = "bad_magic" }]

[[workers]]
name = "bad"
count = 1
workload = "hostile"
behave = "bad-magic"

[expect]
errors = [{ pattern = "frame signature incorrect", min = 1, max = 1 }]
)";

TEST(MitogenTarget, AScenariosOwnExternalTargetIsHonoured) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp, files;
  std::ofstream(files.file("own.toml")) << own_external;
  ran r = run_cli(tmp.path(), {files.file("own.toml"), "-v"});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("PASS own-external [external]"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

}  // namespace
}  // namespace faultmux
