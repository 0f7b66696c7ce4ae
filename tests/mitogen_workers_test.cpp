// Real Mitogen clients as a scenario's workers (client = "mitogen") and the
// oracles that demand the mux's log line: the keys load strictly, the
// command is the Python client's, each new oracle passes on a good
// hand-made run and fails on a planted one, and end to end a Mitogen
// requester shows the mux's missing dead reply that faultmux's own worker masks.
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/oracle_support.hpp"
#include "harness/oracles.hpp"
#include "harness/oracles_log_lines.hpp"
#include "harness/scenario.hpp"
#include "harness/worker_command.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/timeline_events.hpp"

namespace faultmux {
namespace {

using test::ev;
using json = nlohmann::json;
using ::testing::HasSubstr;

std::string group_text(const std::string& extra) {
  return "name = \"m\"\ndescription = \"d\"\norigin = \"mitogen_workers_test\"\n\n"
         "[[workers]]\nname = \"servers\"\nworkload = \"serve\"\n\n"
         "[[workers]]\nname = \"g\"\n" +
         extra;
}

std::string load_error(const std::string& extra) {
  try {
    parse_scenario(group_text(extra), "m.toml");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "loaded";
}

TEST(MitogenWorkerKeys, ClientAndUserLoad) {
  scenario s = parse_scenario(
      group_text("workload = \"echo\"\npeer = \"servers\"\nmessages = 2\nclient = \"mitogen\"\n"
                 "user = \"nobody\"\n"),
      "m.toml");
  const worker_group& g = s.workers[1];
  EXPECT_EQ(g.client, worker_group::client_t::mitogen);
  EXPECT_GT(g.uid, 0);
  EXPECT_GE(g.gid, 0);
  EXPECT_EQ(s.workers[0].client, worker_group::client_t::faultmux);
  EXPECT_EQ(s.workers[0].uid, -1);
}

TEST(MitogenWorkerKeys, WhatAMitogenClientCannotDoIsRefused) {
  EXPECT_THAT(load_error("workload = \"hostile\"\nbehave = \"stall\"\nclient = \"mitogen\"\n"),
              HasSubstr("runs the connect, echo or calls workload, not hostile"));
  EXPECT_THAT(load_error("workload = \"serve\"\nclient = \"mitogen\"\n"), HasSubstr("not serve"));
  EXPECT_THAT(load_error("fault_at = \"pid-sent:SIGKILL\"\nclient = \"mitogen\"\n"),
              HasSubstr("'fault_at' belongs to faultmux's own worker"));
  EXPECT_THAT(load_error("backlog_wait_ms = 0\nclient = \"mitogen\"\n"),
              HasSubstr("'backlog_wait_ms' belongs"));
  EXPECT_THAT(load_error("client = \"python\"\n"),
              HasSubstr("client must be \"faultmux\" or \"mitogen\""));
  EXPECT_THAT(load_error("uid = 65534\n"), HasSubstr("needs client = \"mitogen\""));
  EXPECT_THAT(load_error("client = \"mitogen\"\nuser = \"no-such-user-here\"\n"),
              HasSubstr("no such user"));
  EXPECT_THAT(load_error("client = \"mitogen\"\nuser = \"nobody\"\nuid = 1\n"),
              HasSubstr("not both"));
}

TEST(MitogenWorkerKeys, TheCommandIsThePythonClientWithTheWorkersOptions) {
  scenario s = parse_scenario(
      group_text("workload = \"calls\"\ncontext = \"c\"\nfunction = \"sleep\"\nmessages = 3\n"
                 "client = \"mitogen\"\nuid = 65534\n"),
      "m.toml");
  worker_launch l;
  l.self = "faultmux";
  auto argv = worker_argv(s, s.target, s.workers[1], 0, l, run_paths("/run"));
  ASSERT_GE(argv.size(), 3u);
  EXPECT_EQ(argv[0], "/usr/bin/python3");
  EXPECT_THAT(argv[2], HasSubstr("scenarios/mitogen_worker.py"));
  auto after = [&](const std::string& k) {
    for (std::size_t i = 0; i + 1 < argv.size(); ++i)
      if (argv[i] == k) return argv[i + 1];
    return std::string("(none)");
  };
  EXPECT_EQ(after("--uid"), "65534");
  EXPECT_EQ(after("--connect"), "/run/mux.sock");
  EXPECT_EQ(after("--events"), "/run/worker-g-0.events");
  EXPECT_EQ(after("--context"), "c");
  EXPECT_EQ(after("--function"), "sleep");
  EXPECT_EQ(after("--count"), "3");
  // A faultmux group keeps faultmux's worker.
  auto own = worker_argv(s, s.target, s.workers[0], 0, l, run_paths("/run"));
  EXPECT_EQ(own[0], "faultmux");
  EXPECT_EQ(own[1], "worker");
}

// --- the log-line oracles on hand-made runs ----------------------------------

constexpr pid_t mux_pid = 100, stall_pid = 101, intruder_pid = 102;

json mux_line(const std::string& msg) {
  return {{"pid", mux_pid}, {"role", "mux"}, {"event", "log"}, {"level", "error"}, {"msg", msg}};
}

json disconnect(const std::string& stream, const std::string& err, const std::string& why) {
  return {{"pid", mux_pid},   {"role", "mux"}, {"event", "disconnect"},
          {"stream", stream}, {"errno", err},  {"why", why}};
}

struct run {
  scenario s;
  timeline tl;
  run_outcome o;
  explicit run(const std::string& text) : s(parse_scenario(text, "r.toml")) {
    o.processes = {{"mux", "", mux_pid, 0}};
  }
  oracle_result judge(oracle_result (*f)(const oracle_support::run_view&)) {
    sort_timeline(tl);
    const oracle_support::run_view rv(s, tl, o);
    return f(rv);
  }
};

std::string evidence(const oracle_result& r) {
  std::string out;
  for (const auto& l : r.evidence) out += l + "\n";
  return out;
}

TEST(LogLineOracles, AnErrorDisconnectNeedsItsLineWithStreamAndErrno) {
  run r(group_text("workload = \"connect\"\n"));
  r.tl = {ev(1.0, "mux", disconnect("unix_client.7", "ECONNRESET", "recv failed")),
          ev(1.1, "mux", disconnect("unix_client.8", "", "EOF"))};
  oracle_result bad = r.judge(oracle_support::error_disconnects_logged);
  EXPECT_EQ(bad.v, verdict::fail) << evidence(bad);
  EXPECT_THAT(evidence(bad), HasSubstr("stream unix_client.7 disconnected (ECONNRESET, recv "
                                       "failed) with no error line naming the stream and "
                                       "ECONNRESET"));
  // A line naming the stream but not the errno is not enough for a failed recv.
  r.tl.push_back(ev(0.99, "mux", mux_line("stream unix_client.7: something went wrong")));
  EXPECT_EQ(r.judge(oracle_support::error_disconnects_logged).v, verdict::fail);
  r.tl.push_back(ev(0.999, "mux",
                    mux_line("stream unix_client.7: recv failed: ECONNRESET (Connection reset "
                             "by peer): disconnecting")));
  oracle_result good = r.judge(oracle_support::error_disconnects_logged);
  EXPECT_EQ(good.v, verdict::pass) << evidence(good);
  // A debug line is no line: the disconnect alone does not pass.
  r.tl = {ev(1.0, "mux", disconnect("unix_client.9", "EIO", "recv failed")),
          ev(0.9, "mux",
             {{"pid", mux_pid},
              {"role", "mux"},
              {"event", "log"},
              {"level", "debug"},
              {"msg", "stream unix_client.9: recv failed: EIO"}})};
  EXPECT_EQ(r.judge(oracle_support::error_disconnects_logged).v, verdict::fail);
}

const std::string stall_group =
    "workload = \"hostile\"\nbehave = \"stall\"\n\n[target]\nhandshake_timeout_ms = 400\n";

json stall_connected() {
  return {{"pid", stall_pid}, {"event", "hostile"}, {"step", "did"}, {"what", "connected"}};
}

json handshake_failed(pid_t pid, const std::string& err) {
  return {{"pid", pid}, {"role", "mux"}, {"event", "handshake_failed"}, {"errno", err}};
}

TEST(LogLineOracles, ASilentClientEndsAtItsDeadlineWithALine) {
  run r(group_text(stall_group));
  r.o.processes.push_back({"worker-g-0", "g", stall_pid, 0});
  const std::string line =
      "listener: failed to read remote identity, got 0 bytes: handshake timed out after 400 ms "
      "(PID 101 by peer credentials)";
  r.tl = {ev(1.0, "worker-g-0", stall_connected()),
          ev(1.41, "mux", handshake_failed(stall_pid, "ETIMEDOUT")),
          ev(1.41, "mux", mux_line(line))};
  oracle_result ok = r.judge(oracle_support::handshake_deadlines);
  EXPECT_EQ(ok.v, verdict::pass) << evidence(ok);
  // No deadline: it ended only when the client closed, seconds later.
  r.tl = {ev(1.0, "worker-g-0", stall_connected()),
          ev(4.0, "mux", handshake_failed(stall_pid, "EOF"))};
  oracle_result late = r.judge(oracle_support::handshake_deadlines);
  EXPECT_EQ(late.v, verdict::fail) << evidence(late);
  EXPECT_THAT(evidence(late), HasSubstr("past the 400 ms deadline"));
  // At the deadline but without its line.
  r.tl = {ev(1.0, "worker-g-0", stall_connected()),
          ev(1.41, "mux", handshake_failed(stall_pid, "ETIMEDOUT"))};
  oracle_result silent = r.judge(oracle_support::handshake_deadlines);
  EXPECT_EQ(silent.v, verdict::fail) << evidence(silent);
  EXPECT_THAT(evidence(silent), HasSubstr("no error line"));
  // Never ended while the client held on.
  r.tl = {ev(1.0, "worker-g-0", stall_connected()),
          ev(5.0, "worker-g-0", {{"pid", stall_pid}, {"event", "hostile_done"}})};
  EXPECT_EQ(r.judge(oracle_support::handshake_deadlines).v, verdict::fail);
}

TEST(LogLineOracles, AClientOfAnotherUidIsRefusedWithALine) {
  run r(group_text("client = \"mitogen\"\nuid = 65534\n"));
  r.o.processes.push_back({"worker-g-0", "g", intruder_pid, 0});
  r.tl = {ev(1.0, "mux",
             {{"pid", intruder_pid},
              {"role", "mux"},
              {"event", "handshake_failed"},
              {"why", "uid mismatch"},
              {"uid", 65534}}),
          ev(1.0, "mux",
             mux_line("listener /x: refusing connection from PID 102: it runs as uid 65534, the "
                      "mux as uid 0"))};
  oracle_result ok = r.judge(oracle_support::other_uid_refused);
  if (::geteuid() != 0) {
    EXPECT_EQ(ok.v, verdict::not_applicable) << evidence(ok);
    EXPECT_THAT(evidence(ok), HasSubstr("not root"));
    return;
  }
  EXPECT_EQ(ok.v, verdict::pass) << evidence(ok);
  // Let in: it got a context id.
  r.tl = {
      ev(1.0, "worker-g-0", {{"pid", intruder_pid}, {"event", "connected"}, {"context_id", 5}})};
  oracle_result in = r.judge(oracle_support::other_uid_refused);
  EXPECT_EQ(in.v, verdict::fail) << evidence(in);
  EXPECT_THAT(evidence(in), HasSubstr("the mux gave it context 5"));
}

// --- end to end ------------------------------------------------------------

std::string suite_file(const std::string& name, const std::string& from, const std::string& to) {
  std::string text = test::slurp(FAULTMUX_SOURCE_DIR "/scenarios/" + name + ".toml");
  if (!from.empty()) {
    auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    if (at != std::string::npos) text.replace(at, from.size(), to);
  }
  return text;
}

// Row 26 with real Mitogen requesters: passes on the mux, fails when the mux
// sends no dead reply for a disconnected respondent. faultmux's own worker,
// woken by the DEL_ROUTE, passes either way: it masks the missing reply.
TEST(MitogenWorkersRun, PeerClientDiesUnansweredNeedsTheMuxsDeadReply) {
  ASSERT_TRUE(test::mitogen_version()) << "python3-mitogen missing: run tools/install-deps";
  test::run_dir tmp, files;
  const std::string mitogen = files.file("peer-client-dies-unanswered.toml");
  std::ofstream(mitogen) << suite_file("peer-client-dies-unanswered", "", "");
  test::ran r = test::run_cli(tmp.path(), {mitogen});
  EXPECT_EQ(test::exit_code(r), 0) << r.out;

  r = test::run_cli(tmp.path(), {mitogen, "--legacy-bug", "no-dead-reply-on-disconnect"});
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_THAT(
      r.out,
      HasSubstr("FAIL peer-client-dies-unanswered [legacy bug: no-dead-reply-on-disconnect]: "
                "0 of 10 workers could not connect; 0 lost after connecting; the listener "
                "survived; failed: call outcomes\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  call outcomes: fail\n"));

  const std::string own = files.file("own.toml");
  std::ofstream(own) << suite_file("peer-client-dies-unanswered", "client = \"mitogen\"\n", "");
  r = test::run_cli(tmp.path(), {own, "--legacy-bug", "no-dead-reply-on-disconnect"});
  EXPECT_EQ(test::exit_code(r), 0) << r.out;
}

// Each log-line oracle is quiet on the mux and fires on the legacy bug that
// drops what it demands (faultmux mutants runs the same cells).
TEST(MitogenWorkersRun, EachLogLineOracleFiresOnItsLegacyBug) {
  test::run_dir tmp;
  struct cell {
    const char* scenario;
    const char* bug;
    const char* fails;
  };
  std::vector<cell> cells{
      {"recv-error-mid-stream", "error-disconnect-at-debug", "error disconnects logged"},
      {"stall-during-storm", "no-handshake-deadline", "handshake deadlines"}};
  if (::geteuid() == 0) cells.push_back({"other-uid-refused", "no-uid-check", "other uid refused"});
  for (const cell& c : cells) {
    const std::string file = std::string(FAULTMUX_SOURCE_DIR "/scenarios/") + c.scenario + ".toml";
    test::ran r = test::run_cli(tmp.path(), {file});
    EXPECT_EQ(test::exit_code(r), 0) << r.out;
    r = test::run_cli(tmp.path(), {file, "--legacy-bug", c.bug});
    EXPECT_EQ(test::exit_code(r), 1) << r.out;
    // The headline names the expectation that failed; its evidence follows.
    const std::string fail_line =
        std::string("FAIL ") + c.scenario + " [legacy bug: " + c.bug + "]: ";
    ASSERT_THAT(r.out, HasSubstr(fail_line));
    const std::string line = r.out.substr(r.out.find(fail_line));
    EXPECT_THAT(line.substr(0, line.find('\n')), HasSubstr(std::string("; failed: ") + c.fails));
    EXPECT_THAT(r.out, HasSubstr(std::string("\n  ") + c.fails + ": fail\n"));
  }
}

}  // namespace
}  // namespace faultmux
