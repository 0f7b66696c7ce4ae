// faultmux run: each oracle passes on a good
// timeline and fails on a planted failure; a hung worker is a failure with a
// diagnosis within the timeout, never a hung driver; nothing is left behind;
// exit statuses 0, 1 and 2.
#include "harness/driver.hpp"

#include <dirent.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "harness/oracles.hpp"
#include "harness/timeline.hpp"
#include "roles/process.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/timeline_events.hpp"

namespace faultmux {
namespace {

using test::ev;
using json = nlohmann::json;
using ms = std::chrono::milliseconds;
using clock = std::chrono::steady_clock;
using test::binary;
using test::exit_code;
using test::processes_mentioning;
using test::ran;
using test::run_cli;
using test::run_dir;

// --- oracles on hand-made timelines -----------------------------------------

const char* base = R"(name = "t"
description = "a hand-made run"
origin = "driver_test"
timeout_ms = 5000

[[workers]]
name = "servers"
workload = "serve"

[[workers]]
name = "good"
workload = "echo"
peer = "servers"
messages = 10

[[workers]]
name = "bad"
workload = "hostile"
behave = "bad-magic"

[[faults]]
kind = "syscall"
rule = "recv@accepted#1 per-fd -> EAGAIN"

[expect]
errors = [{ pattern = "frame signature incorrect", min = 1, max = 1 }]
disconnected_groups = ["bad"]
)";

constexpr pid_t mux_pid = 100, server_pid = 101, good_pid = 102, bad_pid = 103;

json log_line(pid_t pid, const std::string& role, const std::string& msg) {
  return {{"pid", pid}, {"role", role}, {"event", "log"}, {"level", "error"}, {"msg", msg}};
}

// A run where everything went right.
struct fixture {
  scenario s = parse_scenario(base, "t.toml");
  timeline tl;
  run_outcome o;

  fixture() {
    o.processes = {{"mux", "", mux_pid, 0},
                   {"worker-servers-0", "servers", server_pid, 0},
                   {"worker-good-0", "good", good_pid, 0},
                   {"worker-bad-0", "bad", bad_pid, 0}};
    o.probe_ok = true;
    o.probe_detail = "probe: round trip";
    o.mux_peak_rss_kib = 8000;
    tl = {ev(1.0, "faults", {{"pid", mux_pid}, {"event", "fault"}, {"rule", 1}}),
          ev(1.1, "worker-servers-0", {{"pid", server_pid}, {"event", "connected"}}),
          ev(1.2, "worker-bad-0", {{"pid", bad_pid}, {"event", "hostile_start"}}),
          ev(1.3, "mux",
             log_line(mux_pid, "mux",
                      "stream unix_client.103: Corruption detected: frame signature incorrect")),
          ev(1.31, "mux",
             {{"pid", mux_pid},
              {"role", "mux"},
              {"event", "disconnect"},
              {"stream", "unix_client.103"},
              {"why", "bad magic"}}),
          ev(1.32, "worker-bad-0", {{"pid", bad_pid}, {"event", "hostile_done"}, {"status", 0}}),
          ev(1.5, "worker-good-0",
             {{"pid", good_pid},
              {"event", "workload_done"},
              {"count", 10},
              {"ok", 10},
              {"failed", 0}}),
          ev(1.6, "driver", {{"pid", 1}, {"event", "mux_stop"}}),
          ev(1.7, "mux",
             {{"pid", mux_pid},
              {"role", "mux"},
              {"event", "disconnect"},
              {"stream", "unix_client.101"},
              {"why", "EOF"}})};
  }
  oracle_result run(oracle_result (*f)(const scenario&, const timeline&, const run_outcome&)) {
    sort_timeline(tl);
    return f(s, tl, o);
  }
};

std::string evidence(const oracle_result& r) {
  std::string out;
  for (const auto& l : r.evidence) out += l + "\n";
  return out;
}

TEST(Oracles, AllPassOnAGoodRun) {
  fixture f;
  for (const auto& r : judge(f.s, f.tl, f.o))
    EXPECT_NE(r.v, verdict::fail) << r.name << ":\n" << evidence(r);
  EXPECT_EQ(first_failure(judge(f.s, f.tl, f.o)), nullptr);
}

TEST(Oracles, FinishedFailsWithTheHangDiagnosis) {
  fixture f;
  f.o.hang = {"worker-good-0 (pid 102): state T (stopped), wchan do_signal_stop"};
  auto r = f.run(oracle_finished);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("do_signal_stop"), std::string::npos);
}

TEST(Oracles, ErrorsLoggedCountsPerProcess) {
  fixture f;
  f.tl.push_back(ev(1.4, "mux", log_line(mux_pid, "mux", "frame signature incorrect again")));
  auto r = f.run(oracle_errors_logged);
  EXPECT_EQ(r.v, verdict::fail) << evidence(r);  // 2 lines, max 1
  EXPECT_NE(r.evidence.front().find("2 error line(s)"), std::string::npos) << evidence(r);

  fixture none;
  none.tl.erase(none.tl.begin() + 3);  // the mux's corruption line
  EXPECT_EQ(none.run(oracle_errors_logged).v, verdict::fail);

  // The same line from a worker is not the mux's.
  fixture worker;
  worker.tl[3].set("pid", good_pid);
  EXPECT_EQ(worker.run(oracle_errors_logged).v, verdict::fail);
}

TEST(Oracles, UnexpectedErrorsAreListedAndFaultedStreamsExcused) {
  fixture f;
  // The hostile worker's own stream and its own lines are excused.
  f.tl.push_back(ev(1.33, "mux", log_line(mux_pid, "mux", "stream unix_client.103: EOF")));
  f.tl.push_back(ev(1.34, "worker-bad-0", log_line(bad_pid, "worker", "whatever it says")));
  EXPECT_EQ(f.run(oracle_no_unexpected_errors).v, verdict::pass);
  // A good worker's stream is not (unix_client.1031 is not unix_client.103).
  f.tl.push_back(ev(1.35, "mux", log_line(mux_pid, "mux", "stream unix_client.1031: EPIPE")));
  auto r = f.run(oracle_no_unexpected_errors);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("unix_client.1031: EPIPE"), std::string::npos) << evidence(r);
  // allowed_errors covers it.
  f.s.expect.allowed_errors = {"EPIPE"};
  EXPECT_EQ(f.run(oracle_no_unexpected_errors).v, verdict::pass);
}

TEST(Oracles, NothingLostNeedsExitZeroAndNoFailedMessages) {
  fixture f;
  EXPECT_EQ(f.run(oracle_nothing_lost).v, verdict::pass);
  f.tl[6].set("failed", 3);
  auto r = f.run(oracle_nothing_lost);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("failed=3"), std::string::npos) << evidence(r);
  fixture status;
  status.o.processes[1].status = SIGKILL;  // a wait status: killed
  EXPECT_EQ(status.run(oracle_nothing_lost).v, verdict::fail);
  // A hostile worker's cannot-connect exit (3) is its own business, not a loss.
  fixture cannot;
  cannot.o.processes[3].status = 3 << 8;
  EXPECT_EQ(cannot.run(oracle_nothing_lost).v, verdict::pass);
}

TEST(Oracles, NothingLostFailsOnAHostileWorkersExitOne) {
  // Exit 1 is the hostile worker saying the mux reacted wrongly to it.
  fixture f;
  f.o.processes[3].status = 1 << 8;
  f.tl[5].set("outcome", "no disconnect within 5000 ms after the bad frame");
  auto r = f.run(oracle_nothing_lost);
  EXPECT_EQ(r.v, verdict::fail) << evidence(r);
  EXPECT_NE(evidence(r).find("worker-bad-0 (pid 103, bad-magic): exit 1, the mux reacted wrongly: "
                             "no disconnect within 5000 ms"),
            std::string::npos)
      << evidence(r);
}

TEST(Oracles, ListenerAliveIsTheProbe) {
  fixture f;
  EXPECT_EQ(f.run(oracle_listener_alive).v, verdict::pass);
  f.o.probe_ok = false;
  f.o.probe_detail = "probe: ECONNREFUSED";
  auto r = f.run(oracle_listener_alive);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_EQ(r.evidence.front(), "probe: ECONNREFUSED");
  f.s.expect.listener_alive = false;
  EXPECT_EQ(f.run(oracle_listener_alive).v, verdict::not_applicable);
}

TEST(Oracles, FaultsFiredNeedsEveryFault) {
  fixture f;
  EXPECT_EQ(f.run(oracle_faults_fired).v, verdict::pass);
  fixture never;
  never.tl.erase(never.tl.begin());  // no fault-log line
  auto r = never.run(oracle_faults_fired);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("fired 0 time(s)"), std::string::npos) << evidence(r);
  fixture no_hostile;
  no_hostile.tl.erase(no_hostile.tl.begin() + 5);  // hostile_done
  EXPECT_EQ(no_hostile.run(oracle_faults_fired).v, verdict::fail);
}

TEST(Oracles, DisconnectedGroupsExactlyTheNamedOnes) {
  fixture f;
  EXPECT_EQ(f.run(oracle_disconnected_groups).v, verdict::pass);
  fixture missing;
  missing.tl.erase(missing.tl.begin() + 4);  // the bad stream's disconnect
  EXPECT_EQ(missing.run(oracle_disconnected_groups).v, verdict::fail);
  // A handshake that failed counts as gone (exit-after-pid).
  missing.tl.push_back(
      ev(1.31, "mux", {{"pid", bad_pid}, {"role", "mux"}, {"event", "handshake_failed"}}));
  EXPECT_EQ(missing.run(oracle_disconnected_groups).v, verdict::pass);
  // A hostile worker that is not expected to be disconnected closes its
  // stream once its behaviour is done (many-frames): that is its end.
  fixture done;
  done.s.expect.disconnected_groups.clear();
  done.tl.erase(done.tl.begin() + 4);  // the bad-magic disconnect
  done.tl.push_back(ev(1.33, "mux",
                       {{"pid", mux_pid},
                        {"role", "mux"},
                        {"event", "disconnect"},
                        {"stream", "unix_client.103"},
                        {"why", "EOF"}}));
  EXPECT_EQ(done.run(oracle_disconnected_groups).v, verdict::pass);
  done.tl.back().t = 1.25;
  done.tl.back().set("t", 1.25);  // before its hostile_done
  EXPECT_EQ(done.run(oracle_disconnected_groups).v, verdict::fail);
  // A server's stream going before the mux was stopped.
  fixture early;
  early.tl.back().t = 1.45;
  early.tl.back().set("t", 1.45);
  auto r = early.run(oracle_disconnected_groups);
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("worker-servers-0"), std::string::npos) << evidence(r);
}

TEST(Oracles, CleanExitAndResources) {
  fixture f;
  EXPECT_EQ(f.run(oracle_clean_exit).v, verdict::pass);
  EXPECT_EQ(f.run(oracle_resources).v, verdict::pass);
  f.o.processes[0].status = SIGSEGV;
  EXPECT_EQ(f.run(oracle_clean_exit).v, verdict::fail);
  fixture sock;
  sock.o.socket_left = true;
  EXPECT_EQ(sock.run(oracle_clean_exit).v, verdict::fail);
  EXPECT_EQ(sock.run(oracle_resources).v, verdict::fail);
  fixture left;
  left.o.leftovers = {"context A (pid 7): state S"};
  EXPECT_EQ(left.run(oracle_resources).v, verdict::fail);
  fixture rss;
  // Over the default 512 MiB bound, and over what a sanitizer build allows.
  rss.o.mux_peak_rss_kib = 600L * 1024 * test::memory_slack;
  EXPECT_EQ(rss.run(oracle_resources).v, verdict::fail);
}

// --- call outcomes on a hand-made timeline ------------------------------------

const char* calls_base = R"(name = "c"
description = "callers of a context that is killed"
origin = "driver_test"

[[workers]]
name = "victims"
workload = "calls"
context = "doomed"
function = "sleep"
messages = 2

[[faults]]
kind = "context"
context = "doomed"
fault_at = "mid-call:SIGKILL"

[expect]
calls = [{ group = "victims", outcome = "disconnected", reason = "^the respondent Context has disconnected$", within_ms = 100 }]
)";

json call_event(pid_t pid, int seq, const std::string& outcome, const std::string& error,
                double ms_taken) {
  return {{"pid", pid},         {"event", "call"}, {"seq", seq},
          {"outcome", outcome}, {"error", error},  {"ms", ms_taken}};
}

TEST(Oracles, CallOutcomesNeedEveryCallToEndAsExpectedSoonAfterItsFault) {
  constexpr pid_t victim = 110, context = 120;
  const std::string gone = "the respondent Context has disconnected";
  scenario s = parse_scenario(calls_base, "c.toml");
  run_outcome o;
  o.processes = {{"mux", "", mux_pid, 0}, {"worker-victims-0", "victims", victim, 256}};
  auto judge_calls = [&](std::vector<timeline_event> calls) {
    timeline tl{ev(1.0, "mux",
                   {{"pid", mux_pid},
                    {"event", "context_ready"},
                    {"context", "doomed"},
                    {"child_pid", context}}),
                ev(2.0, "mux", {{"pid", context}, {"event", "fault"}, {"kind", "phase"}})};
    tl.insert(tl.end(), calls.begin(), calls.end());
    sort_timeline(tl);
    return std::make_pair(oracle_calls(s, tl, o), oracle_faults_fired(s, tl, o));
  };
  // Both calls sent at 1.5 s, ended 20 ms after the kill at 2.0 s: pass, the
  // delay counted from the fault, not from the sending.
  auto [r, fired] = judge_calls({ev(2.02, "w", call_event(victim, 0, "disconnected", gone, 520)),
                                 ev(2.02, "w", call_event(victim, 1, "disconnected", gone, 520))});
  EXPECT_EQ(r.v, verdict::pass) << evidence(r);
  EXPECT_NE(evidence(r).find("2 call(s) ended disconnected"), std::string::npos) << evidence(r);
  EXPECT_EQ(fired.v, verdict::pass) << evidence(fired);
  EXPECT_NE(evidence(fired).find("mid-call:SIGKILL in context doomed): fired 1 time"),
            std::string::npos)
      << evidence(fired);
  // A call that returned, one with another reason, one too late, one missing.
  std::tie(r, fired) = judge_calls({ev(2.02, "w", call_event(victim, 0, "result", "", 520))});
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("1 of its 2 calls 0..1 ended"), std::string::npos) << evidence(r);
  EXPECT_NE(evidence(r).find("call 0 ended result, expected disconnected"), std::string::npos)
      << evidence(r);
  std::tie(r, fired) = judge_calls(
      {ev(2.02, "w", call_event(victim, 0, "disconnected", "no route to 5, my ID is 0", 520)),
       ev(2.5, "w", call_event(victim, 1, "disconnected", gone, 1000))});
  EXPECT_EQ(r.v, verdict::fail);
  EXPECT_NE(evidence(r).find("call 0 ended disconnected with \"no route to 5, my ID is 0\""),
            std::string::npos)
      << evidence(r);
  EXPECT_NE(
      evidence(r).find("call 1 ended disconnected 500 ms after a fault, over the 100 ms bound"),
      std::string::npos)
      << evidence(r);
  // No fault recorded by the context: faults fired fails.
  timeline none{ev(1.0, "mux",
                   {{"pid", mux_pid},
                    {"event", "context_ready"},
                    {"context", "doomed"},
                    {"child_pid", context}})};
  EXPECT_EQ(oracle_faults_fired(s, none, o).v, verdict::fail);
  // The group's own failures are no loss to nothing lost: it is affected by design.
  EXPECT_TRUE(group_is_faulted(s, "victims"));
}

TEST(Timeline, MergesFilesByTime) {
  run_dir dir;
  std::ofstream(dir.file("mux.events")) << R"({"t":2.0,"pid":1,"event":"b"})"
                                           "\n"
                                        << R"({"t":3.0,"pid":1,"event":"d"})"
                                           "\n"
                                        << R"({"t":9.0,"pid":1,"ev)";  // being written
  std::ofstream(dir.file("worker-g-0.events")) << R"({"t":1.0,"pid":2,"event":"a"})"
                                                  "\n";
  std::ofstream(dir.file("faults.log")) << R"({"t":2.5,"pid":1,"event":"fault"})"
                                           "\n";
  timeline tl = load_timeline(dir.path());
  ASSERT_EQ(tl.size(), 4u);
  EXPECT_EQ(tl[0].event(), "a");
  EXPECT_EQ(tl[0].source, "worker-g-0");
  EXPECT_EQ(tl[2].source, "faults");
  EXPECT_EQ(tl[3].event(), "d");
}

// --- faultmux run, end to end -------------------------------------------------

bool empty_dir(const std::string& path) {
  return std::filesystem::is_empty(path);
}

// A scenario file of the suite with some text replaced.
std::string suite_file(const std::string& name,
                       const std::vector<std::pair<std::string, std::string>>& edits = {}) {
  std::string text = test::slurp(FAULTMUX_SOURCE_DIR "/scenarios/" + name + ".toml");
  for (const auto& [from, to] : edits) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

// Real runs: the calls expectation of context-killed-mid-call holds with the
// kill and fails without it, the calls then returning their results.
TEST(DriverRun, CallOutcomesPassWithTheKillAndFailWithoutIt) {
  run_dir tmp, files;
  const std::pair<std::string, std::string> shorter{"size = 3000", "size = 300"};
  std::ofstream(files.file("killed.toml")) << suite_file("context-killed-mid-call", {shorter});
  std::ofstream(files.file("not-killed.toml")) << suite_file(
      "context-killed-mid-call",
      {shorter,
       {"[[faults]]\nkind = \"context\"\ncontext = \"doomed\"\nfault_at = \"mid-call:SIGKILL\"\n",
        ""}});
  ran r = run_cli(tmp.path(), {files.file("killed.toml"), "-v"});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("group victims (calls 0..0): 1 call(s) ended disconnected"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("group victims (calls 1..last): 2 call(s) ended disconnected"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("ended disconnected"), std::string::npos) << r.out;
  r = run_cli(tmp.path(), {files.file("not-killed.toml")});
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("FAIL context-killed-mid-call: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  call outcomes: fail\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("call 0 ended result, expected disconnected /^the respondent Context has "
                       "disconnected$/"),
            std::string::npos)
      << r.out;
  EXPECT_TRUE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// The unidirectional refusals' reasons are judged: with unidirectional
// routing off, the sibling's policy refuses instead and the scenario fails.
TEST(DriverRun, RefusalReasonsAreJudged) {
  run_dir tmp, files;
  std::ofstream(files.file("uni-off.toml")) << suite_file(
      "unidirectional-refusals", {{"unidirectional = true", "unidirectional = false"}});
  ran r = run_cli(tmp.path(), {files.file("uni-off.toml")});
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("ended call_error with \"faultmux.CallFailed: faultmux.builtins.call_child: "
                       "refused by policy\", expected call_error /routing mode prevents forward"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("errors logged: fail"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("0 warning or error line(s) match"), std::string::npos) << r.out;
  EXPECT_TRUE(empty_dir(tmp.path()));
}

// A rerun line from a report is pasted into another checkout: the file is
// relative to the working directory when inside it, with the entry point
// ./faultmux when that is there; anything else stays as it was given.
TEST(DriverRerun, IsRelativeInsideTheWorkingDirectory) {
  run_dir checkout;
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::create_directories(checkout.file("scenarios"));
  scenario_result r;
  r.file = checkout.file("scenarios/x.toml");
  r.seed = 5;
  r.legacy_bugs = {"crash-on-eagain"};
  std::filesystem::current_path(checkout.path());
  EXPECT_EQ(rerun_command(r),
            "faultmux run scenarios/x.toml --seed 5 --legacy-bug crash-on-eagain");
  std::ofstream(checkout.file("faultmux")) << "#!/bin/sh\n";
  EXPECT_EQ(rerun_command(r),
            "./faultmux run scenarios/x.toml --seed 5 --legacy-bug crash-on-eagain");
  r.legacy_bugs.clear();
  r.target = "mitogen";
  r.file = "/elsewhere/y.toml";
  EXPECT_EQ(rerun_command(r), "./faultmux run /elsewhere/y.toml --seed 5 --target mitogen");
  std::filesystem::current_path(before);
}

TEST(DriverRun, FilterAndSeed) {
  run_dir tmp;
  ran r = run_cli(tmp.path(), {std::string(FAULTMUX_SOURCE_DIR) + "/scenarios", "--filter", "bad-*",
                               "--seed", "9"});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("PASS bad-magic"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("exit-after-pid"), std::string::npos) << r.out;
}

const char* hung_scenario = R"(name = "hung"
description = "a worker stops itself once connected and nobody resumes it"
origin = "driver_test"
timeout_ms = 1500

[[workers]]
name = "stuck"
workload = "connect"
fault_at = "connected:SIGSTOP"
)";

TEST(DriverRun, AHungWorkerIsAFailureWithADiagnosisNotAHang) {
  run_dir tmp, files;
  std::ofstream(files.file("hung.toml")) << hung_scenario;
  ran r = run_cli(tmp.path(), {files.file("hung.toml")}, ms(20000));
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("FAIL hung: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  finished: fail\n    still running after the " +
                       std::to_string(1500 * test::scenario_time_factor) + " ms timeout"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("worker-stuck-0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("state T (stopped)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rerun: faultmux run " + files.file("hung.toml") + " --seed 1"),
            std::string::npos)
      << r.out;
  // The timeout, then the probe, the mux's shutdown and the reaping: bounded.
  EXPECT_LT(r.seconds, 10.0) << r.out;
  EXPECT_TRUE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

const char* hung_mux_scenario = R"(name = "hung-mux"
description = "the mux is stopped before the workers start and nobody resumes it"
origin = "driver_test"
timeout_ms = 1500

[[workers]]
name = "good"
count = 2
workload = "connect"

[[faults]]
kind = "signal"
signal = "SIGSTOP"
at_ms = 0
before_workers = true
)";

TEST(DriverRun, AHungTargetIsDiagnosedWithinItsTimeout) {
  run_dir tmp, files;
  std::ofstream(files.file("hung-mux.toml")) << hung_mux_scenario;
  ran r = run_cli(tmp.path(), {files.file("hung-mux.toml")}, ms(30000));
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("FAIL hung-mux: "), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  finished: fail\n    still running after the " +
                       std::to_string(1500 * test::scenario_time_factor) + " ms timeout"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("is stopped and cannot act on SIGTERM: state T (stopped)"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("listener alive: fail"), std::string::npos) << r.out;
  // The timeout, the probe's own deadline and the reaping, not a wait on a
  // mux that cannot exit.
  EXPECT_LT(r.seconds, 10.0 * test::time_slack) << r.out;
  EXPECT_TRUE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

TEST(DriverRun, VerboseKeepsAFailedRunsDirectory) {
  run_dir tmp, files;
  std::ofstream(files.file("hung.toml")) << hung_scenario;
  ran r = run_cli(tmp.path(), {files.file("hung.toml"), "-v"}, ms(20000));
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("run directory kept: " + tmp.path()), std::string::npos) << r.out;
  EXPECT_FALSE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// Run directories (faultmux-run-*) in `tmp` right now.
int run_dirs_in(const std::string& tmp) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp))
    n += e.path().filename().string().rfind("faultmux-run-", 0) == 0 ? 1 : 0;
  return n;
}

TEST(DriverRun, RepeatRunsEachScenarioTimesWithOneSeed) {
  run_dir tmp, report;
  ran r = run_cli(tmp.path(), {std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/bad-magic.toml",
                               "--repeat", "3", "--report", report.path()});
  EXPECT_EQ(exit_code(r), 0) << r.out;
  for (const char* k : {"PASS bad-magic #1 (", "PASS bad-magic #2 (", "PASS bad-magic #3 ("})
    EXPECT_NE(r.out.find(k), std::string::npos) << k << "\n" << r.out;
  EXPECT_NE(r.out.find("3 passed, 0 failed"), std::string::npos) << r.out;
  json j = json::parse(test::slurp(report.file("results.json")));
  ASSERT_EQ(j["scenarios"].size(), 3u);
  for (const auto& e : j["scenarios"]) {
    EXPECT_EQ(e["name"], "bad-magic");
    EXPECT_EQ(e["seed"], j["scenarios"][0]["seed"]);
  }
}

TEST(DriverRun, RepeatNamesAFlakyScenario) {
  // A scenario that passes or fails by the seed cannot be flaky under one
  // seed; a hung one fails every time: "0 of 2", not flaky.
  run_dir tmp, files;
  std::ofstream(files.file("hung.toml")) << hung_scenario;
  ran r = run_cli(tmp.path(), {files.file("hung.toml"), "--repeat", "2", "--jobs", "2"}, ms(30000));
  EXPECT_EQ(exit_code(r), 1) << r.out;
  EXPECT_NE(r.out.find("hung: 0 of 2 runs passed\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("(flaky)"), std::string::npos) << r.out;
}

TEST(DriverRun, JobsRunScenariosAtOnceAndReportInFileOrder) {
  run_dir tmp, files;
  std::ofstream(files.file("a-hung.toml")) << hung_scenario;
  std::string second = hung_scenario;
  second.replace(second.find("\"hung\""), 6, "\"b-hung\"");
  std::ofstream(files.file("b-hung.toml")) << second;
  std::vector<std::string> argv{
      "/usr/bin/env", "TMPDIR=" + tmp.path(), binary(), "run", files.path(), "--jobs", "2"};
  child_process p = child_process::spawn(argv, true);
  // Both scenarios hang for their 1.5 s timeout: with --jobs 2 their run
  // directories exist at the same time.
  int most = 0;
  for (auto end = clock::now() + ms(20000); most < 2 && p.running() && clock::now() < end;) {
    most = std::max(most, run_dirs_in(tmp.path()));
    std::this_thread::sleep_for(ms(5));
  }
  std::string out;
  while (auto line = p.read_line(ms(20000))) out += *line + "\n";
  auto status = p.wait(ms(5000));
  EXPECT_EQ(most, 2) << out;
  ASSERT_TRUE(status && WIFEXITED(*status)) << out;
  EXPECT_EQ(WEXITSTATUS(*status), 1) << out;
  auto a = out.find("FAIL hung:"), b = out.find("FAIL b-hung:");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  EXPECT_LT(a, b) << out;
  EXPECT_TRUE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

// --jobs, and the signal that stops the run.
class DriverInterrupt : public testing::TestWithParam<std::pair<int, int>> {};

// Ctrl-C (or a SIGTERM from a CI timeout, or SIGHUP from a closed terminal)
// during the second scenario: it is stopped and reaped, the first one's
// result is printed and written, the exit status says interrupted.
TEST_P(DriverInterrupt, StopsCleanlyAndWritesWhatItHas) {
  const auto [jobs, sig] = GetParam();
  run_dir tmp, files, report;
  std::ofstream(files.file("a.toml"))
      << test::slurp(FAULTMUX_SOURCE_DIR "/scenarios/bad-magic.toml");
  std::string slow = hung_scenario;
  slow.replace(slow.find("1500"), 4, "60000");
  std::ofstream(files.file("b.toml")) << slow;
  std::vector<std::string> argv{"/usr/bin/env",
                                "TMPDIR=" + tmp.path(),
                                binary(),
                                "run",
                                files.path(),
                                "--report",
                                report.path(),
                                "--jobs",
                                std::to_string(jobs)};
  child_process p = child_process::spawn(argv, true);
  std::string out;
  // The first scenario has finished (its line comes first in either mode)...
  while (out.find("PASS bad-magic (") == std::string::npos)
    if (auto line = p.read_line(ms(30000 * test::time_slack)))
      out += *line + "\n";
    else
      break;
  ASSERT_NE(out.find("PASS bad-magic ("), std::string::npos) << out;
  // ...and the hung one is under way once its worker has stopped itself.
  bool hung_started = false;
  for (auto end = clock::now() + ms(20000 * test::time_slack);
       !hung_started && clock::now() < end;) {
    for (const auto& proc : processes_mentioning(tmp.path()))
      hung_started |= proc.find("--fault-at connected:SIGSTOP") != std::string::npos;
    std::this_thread::sleep_for(ms(20));
  }
  ASSERT_TRUE(hung_started);
  std::this_thread::sleep_for(ms(200));
  p.signal(sig);
  const auto sent = clock::now();
  while (auto line = p.read_line(ms(20000))) out += *line + "\n";
  auto status = p.wait(ms(20000));
  ASSERT_TRUE(status && WIFEXITED(*status)) << out;
  EXPECT_EQ(WEXITSTATUS(*status), 130) << out;
  EXPECT_LT(std::chrono::duration<double>(clock::now() - sent).count(), 10.0);
  EXPECT_NE(out.find("PASS bad-magic ("), std::string::npos) << out;
  EXPECT_NE(out.find("INTERRUPTED hung"), std::string::npos) << out;
  EXPECT_NE(out.find("1 passed, 0 failed, interrupted"), std::string::npos) << out;
  json j = json::parse(test::slurp(report.file("results.json")));
  ASSERT_EQ(j["scenarios"].size(), 1u);
  EXPECT_EQ(j["scenarios"][0]["name"], "bad-magic");
  EXPECT_TRUE(empty_dir(tmp.path()));
  EXPECT_TRUE(processes_mentioning(tmp.path()).empty());
}

INSTANTIATE_TEST_SUITE_P(JobsAndSignal, DriverInterrupt,
                         testing::Values(std::pair{1, SIGINT}, std::pair{2, SIGINT},
                                         std::pair{1, SIGTERM}, std::pair{2, SIGHUP}));

TEST(DriverRun, BadInputExitsTwo) {
  run_dir tmp, files;
  std::ofstream(files.file("bad.toml")) << "name = 3\n";
  ran r = run_cli(tmp.path(), {files.file("bad.toml")});
  EXPECT_EQ(exit_code(r), 2) << r.out;
  EXPECT_EQ(exit_code(run_cli(tmp.path(), {files.file("missing.toml")})), 2);
  EXPECT_EQ(exit_code(run_cli(tmp.path(), {FAULTMUX_SOURCE_DIR "/scenarios", "--filter", "nope"})),
            2);
  EXPECT_TRUE(empty_dir(tmp.path()));
}

}  // namespace
}  // namespace faultmux
