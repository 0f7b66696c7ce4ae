// The mux's and listener's lifecycle, through real `faultmux run`s
// (a short identity, connect failures, shutdown with clients, a mux killed
// under its workers, a stale socket, a second mux on a live path): each new
// expectation passes on the built-in scenarios (BuiltInScenarios.*) and fails here
// when the scenario expects the wrong thing; the driver ends the workers
// before the target.

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/oracles.hpp"
#include "harness/scenario.hpp"
#include "harness/timeline.hpp"
#include "roles/process.hpp"
#include "tests/support/cli_run.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sanitizers.hpp"

namespace faultmux {
namespace {

using ms = std::chrono::milliseconds;
using test::binary;
using test::run_dir;

using test::ran;

// `faultmux run FILE -v` of a scenario text, with TMPDIR inside `tmp`.
ran run_text(const run_dir& tmp, const std::string& name, const std::string& text,
             const std::vector<std::string>& extra = {}) {
  std::string file = tmp.file(name + ".toml");
  std::ofstream(file) << text;
  std::filesystem::create_directories(tmp.file("runs"));
  std::vector<std::string> args{file, "-v"};
  args.insert(args.end(), extra.begin(), extra.end());
  return test::run_cli(tmp.file("runs"), args, ms(40000 * test::time_slack));
}

bool has(const ran& r, const std::string& text) {
  return r.out.find(text) != std::string::npos;
}

// The scenarios' texts with one expectation changed; each must fail on it.
std::string scenario_text(const char* file) {
  return test::slurp(std::string(FAULTMUX_SOURCE_DIR "/scenarios/") + file);
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

TEST(Lifecycle, CannotConnectFailsOnTheWrongErrno) {
  run_dir tmp;
  // connect-failures with ECONNREFUSED expected of the missing path.
  std::string text = replaced(scenario_text("connect-failures.toml"),
                              "outcome = \"cannot-connect\"\nerrno = [\"ENOENT\"]",
                              "outcome = \"cannot-connect\"\nerrno = [\"ECONNREFUSED\"]");
  ran r = run_text(tmp, "wrong-errno", text);
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "FAIL connect-failures: ")) << r.out;
  EXPECT_TRUE(has(r, "  worker outcomes: fail\n    worker-missing-0")) << r.out;
  EXPECT_TRUE(has(r, "errno ENOENT, expected ECONNREFUSED")) << r.out;
  // The other groups' outcomes still hold, with their evidence.
  EXPECT_TRUE(has(r, "worker-stale-0 (pid")) << r.out;
  EXPECT_TRUE(has(r, "cannot-connect: exit 3, errno ECONNREFUSED: cannot connect to ")) << r.out;
}

TEST(Lifecycle, CannotConnectFailsWhenTheWorkerConnects) {
  run_dir tmp;
  ran r = run_text(tmp, "connects", R"(name = "connects"
description = "a worker expected not to connect connects"
origin = "lifecycle_test"
timeout_ms = 5000

[[workers]]
name = "fine"
count = 1

[[expect.outcomes]]
group = "fine"
outcome = "cannot-connect"
)");
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "FAIL connects: ")) << r.out;
  EXPECT_TRUE(has(r, "  worker outcomes: fail\n    worker-fine-0 (pid")) << r.out;
  EXPECT_TRUE(has(r, "is not cannot-connect: exit 0, no connect_failed event")) << r.out;
}

// The driver stops the workers before the mux: a connected worker sees no
// loss of its connection unless the scenario takes the mux away.
TEST(Lifecycle, ConnectionLostFailsWhenTheMuxStaysAndWorkersEndFirst) {
  run_dir tmp;
  ran r = run_text(tmp, "stays", R"(name = "stays"
description = "workers expected to lose their connection, but nothing ends the mux"
origin = "lifecycle_test"
timeout_ms = 5000

[[workers]]
name = "connected"
count = 2

[[expect.outcomes]]
group = "connected"
outcome = "connection-lost"
)");
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "is not connection-lost: exit 0, no connection_lost event")) << r.out;
  // ... and the mux, stopped after its workers, had nobody left to cut off.
  EXPECT_TRUE(has(r, "clean exit: pass")) << r.out;
}

TEST(Lifecycle, TargetDiesFailsWhenTheTargetLives) {
  run_dir tmp;
  ran r = run_text(tmp, "lives", R"(name = "lives"
description = "target_dies, but nothing kills the mux"
origin = "lifecycle_test"
timeout_ms = 5000

[target]
shutdown_grace_ms = 200

[[workers]]
name = "connected"
count = 1

[expect]
target_dies = true
)");
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "listener gone: fail")) << r.out;
  EXPECT_TRUE(has(r, "the listener still answers, although the target was to die")) << r.out;
  EXPECT_TRUE(has(r, "target died: fail")) << r.out;
  EXPECT_TRUE(has(r, "was still running when the driver stopped it")) << r.out;
}

TEST(Lifecycle, AKilledTargetWithoutTargetDiesFailsCleanExitAndListenerAlive) {
  run_dir tmp;
  std::string text = replaced(scenario_text("mux-killed-under-workers.toml"), "target_dies = true",
                              "target_dies = false");
  ran r = run_text(tmp, "no-target-dies", text);
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "listener alive: fail")) << r.out;
  EXPECT_TRUE(has(r, "    probe: cannot connect to ")) << r.out;
  EXPECT_TRUE(has(r, "clean exit: fail")) << r.out;
  EXPECT_TRUE(has(r, "resources: fail")) << r.out;
  // The workers' outcomes are judged all the same.
  EXPECT_TRUE(has(r, "worker outcomes: pass")) << r.out;
}

TEST(Lifecycle, FlushedAndForceClosedFailWhenSwapped) {
  run_dir tmp;
  std::string text = scenario_text("shutdown-with-clients.toml");
  text = replaced(text, "group = \"readers\"\noutcome = \"flushed\"",
                  "group = \"readers\"\noutcome = \"force-closed\"");
  text = replaced(text, "group = \"stuck\"\noutcome = \"force-closed\"\nerrno = [\"ETIMEDOUT\"]",
                  "group = \"stuck\"\noutcome = \"flushed\"");
  ran r = run_text(tmp, "swapped", text);
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "worker-readers-0 (pid")) << r.out;
  EXPECT_TRUE(has(r, "is not force-closed: unix_client.")) << r.out;
  EXPECT_TRUE(has(r, "not force-closed: errno none, 0 bytes dropped")) << r.out;
  EXPECT_TRUE(has(r, "is not flushed: unix_client.")) << r.out;
  EXPECT_TRUE(has(r, "not flushed: errno ETIMEDOUT")) << r.out;
  // The mux itself did what row 21 asks.
  EXPECT_TRUE(has(r, "target died: pass")) << r.out;
  EXPECT_TRUE(has(r, "exit 0 before the driver stopped it, socket file removed")) << r.out;
}

TEST(Lifecycle, ShortIdentityDetailMustMatch) {
  run_dir tmp;
  std::string text = replaced(scenario_text("listener-short-identity.toml"), "detail = \"(after",
                              "detail = \"(decode error|never");
  ran r = run_text(tmp, "detail", text);
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "is not cannot-connect: the error does not match /(decode error|never"))
      << r.out;
}

// A second mux on a path nobody serves any more takes it over: that is no
// refusal, and the outcome oracle says so.
TEST(Lifecycle, RefusedToListenFailsWhenTheSecondMuxListens) {
  run_dir tmp;
  ran r = run_text(tmp, "takes-over", R"(name = "takes-over"
description = "the first mux is killed before the second starts: the second listens"
origin = "lifecycle_test"
timeout_ms = 2000

# Once the killed mux's listening socket is closed.
[[workers]]
name = "second"
workload = "second-mux"
start_after_ms = 300

[[faults]]
kind = "signal"
signal = "SIGKILL"
before_workers = true

[expect]
target_dies = true

[[expect.outcomes]]
group = "second"
outcome = "refused-to-listen"
)");
  EXPECT_EQ(test::exit_code(r), 1) << r.out;
  EXPECT_TRUE(has(r, "worker-second-0 (pid")) << r.out;
  EXPECT_TRUE(has(r, "is not refused-to-listen: killed by SIGKILL")) << r.out;
}

bool mitogen_installed() {
  return std::filesystem::exists("/usr/lib/python3/dist-packages/mitogen/core.py");
}

// Against Mitogen 0.3.3: with the workers gone before its SIGTERM, Mitogen's
// shutdown has nothing pending (it used to log "pending work still
// existed 5 seconds after shutdown began" for every scenario that left
// clients connected); a fake-listener scenario keeps its own target.
TEST(Lifecycle, MitogenShutsDownCleanlyOnceTheWorkersAreGone) {
  ASSERT_TRUE(mitogen_installed()) << "python3-mitogen is not installed: run tools/install-deps";
  run_dir tmp;
  ran r = run_text(tmp, "stale", scenario_text("restart-over-stale-socket.toml"),
                   {"--target", "mitogen"});
  EXPECT_EQ(test::exit_code(r), 0) << r.out;
  EXPECT_TRUE(has(r, "PASS restart-over-stale-socket [mitogen]")) << r.out;
  EXPECT_TRUE(has(r, "mitogen target exit 0 on SIGTERM, socket file removed")) << r.out;
  EXPECT_FALSE(has(r, "pending work still existed")) << r.out;
  ran f =
      run_text(tmp, "fake", scenario_text("listener-short-identity.toml"), {"--target", "mitogen"});
  EXPECT_EQ(test::exit_code(f), 0) << f.out;
  EXPECT_TRUE(has(f, "PASS listener-short-identity [fake-listener]")) << f.out;
}

// --- the oracles on hand-made timelines ------------------------------------------

timeline_event ev(double t, pid_t pid, nlohmann::json fields) {
  fields["t"] = t;
  fields["pid"] = pid;
  return timeline_event::of(t, "x", fields);
}

nlohmann::json error_line(const std::string& msg) {
  return {{"event", "log"}, {"level", "error"}, {"msg", msg}};
}

TEST(LifecycleOracles, CallsGroupsAgainstAnExternalTargetAreNotJudgedByTheirErrors) {
  scenario s = parse_scenario(R"(name = "t"
description = "d"
origin = "o"
[[workers]]
name = "callers"
workload = "calls"
context = "c"
messages = 1

[[workers]]
name = "killed"
workload = "calls"
context = "c"
messages = 1
fault_at = "awaiting-reply:SIGKILL"

[[faults]]
kind = "signal"
process = "killed"
signal = "SIGSTOP"
at_ms = 100

[[expect.outcomes]]
group = "callers"
outcome = "connection-lost"
)",
                              "t.toml");
  run_outcome o;
  o.processes = {{"mux", "", 10, 0},
                 {"worker-callers-0", "callers", 11, 0},
                 {"worker-killed-0", "killed", 12, 0}};
  timeline tl{ev(1.0, 11, error_line("worker: call workload failed: invalid handle"))};
  // Against faultmux's mux the line is a lost call, the faults never fired
  // and the callers never lost a connection...
  s.expect.outcomes.clear();
  EXPECT_EQ(oracle_no_unexpected_errors(s, tl, o).v, verdict::fail);
  EXPECT_EQ(oracle_faults_fired(s, tl, o).v, verdict::fail);
  s.expect.outcomes = {{"callers", "connection-lost", {}, ""}};
  EXPECT_EQ(oracle_outcomes(s, tl, o).v, verdict::fail);
  // ... against Mitogen, which serves no faultmux.ContextService, neither says anything.
  o.external_target = true;
  o.target_name = "mitogen";
  EXPECT_EQ(oracle_no_unexpected_errors(s, tl, o).v, verdict::pass);
  oracle_result f = oracle_faults_fired(s, tl, o);
  EXPECT_EQ(f.v, verdict::pass);
  ASSERT_FALSE(f.evidence.empty());
  EXPECT_NE(f.evidence[0].find("not applicable: its calls need faultmux.ContextService"),
            std::string::npos)
      << f.evidence[0];
  oracle_result out = oracle_outcomes(s, tl, o);
  EXPECT_EQ(out.v, verdict::not_applicable);
  ASSERT_FALSE(out.evidence.empty());
  EXPECT_NE(out.evidence[0].find("group callers connection-lost: not applicable"),
            std::string::npos)
      << out.evidence[0];
}

// The driver ends the workers before the mux: the mux's lines about a
// worker's stream from then on are the teardown's; before it they count.
TEST(LifecycleOracles, TheMuxsLinesAboutWorkersLeavingAtTheEndAreTheTeardowns) {
  scenario s = parse_scenario(R"(name = "t"
description = "d"
origin = "o"
[[workers]]
name = "servers"
workload = "serve"
)",
                              "t.toml");
  run_outcome o;
  o.processes = {{"mux", "", 10, 0}, {"worker-servers-0", "servers", 11, 0}};
  const std::string line =
      "stream unix_client.11: disconnected: EOF with 0 bytes of an incomplete frame received and "
      "28 bytes queued for output";
  timeline stop{ev(2.0, 1, {{"event", "workers_stop"}})};
  stop[0].source = "driver";
  timeline after = stop, before = stop;
  after.push_back(ev(2.1, 10, error_line(line)));
  before.insert(before.begin(), ev(1.9, 10, error_line(line)));
  EXPECT_EQ(oracle_no_unexpected_errors(s, after, o).v, verdict::pass);
  EXPECT_EQ(oracle_no_unexpected_errors(s, before, o).v, verdict::fail);
  // Only lines about the workers' own streams.
  timeline other = stop;
  other.push_back(ev(2.1, 10, error_line("stream unix_client.99: EPIPE")));
  EXPECT_EQ(oracle_no_unexpected_errors(s, other, o).v, verdict::fail);
}

TEST(LifecycleOracles, ErrorsLoggedPutsTheFailingExpectationFirst) {
  scenario s = parse_scenario(R"(name = "t"
description = "d"
origin = "o"
[[workers]]
name = "a"
[expect]
errors = [{ pattern = "held", min = 1, max = 1 }, { pattern = "missing", min = 1 }]
)",
                              "t.toml");
  run_outcome o;
  o.processes = {{"mux", "", 10, 0}};
  timeline tl{ev(1.0, 10, error_line("held"))};
  oracle_result r = oracle_errors_logged(s, tl, o);
  EXPECT_EQ(r.v, verdict::fail);
  ASSERT_FALSE(r.evidence.empty());
  EXPECT_NE(r.evidence[0].find("/missing/, expected at least 1"), std::string::npos)
      << r.evidence[0];
}

TEST(Lifecycle, LoaderChecksTheNewKeys) {
  auto error_of = [](const std::string& text) {
    try {
      parse_scenario(text, "t.toml");
    } catch (const scenario_error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string head = "name = \"t\"\ndescription = \"d\"\norigin = \"o\"\n";
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\npath = \"elsewhere\"\n")
                .find("t.toml:6:8: path must be \"missing\""),
            std::string::npos);
  EXPECT_NE(error_of(head + "[target]\nkind = \"fake-listener\"\n[[workers]]\nname = \"a\"\n")
                .find("needs 'answer_bytes'"),
            std::string::npos);
  EXPECT_NE(
      error_of(head + "[target]\nkind = \"fake-listener\"\nanswer_bytes = [12]\n[[workers]]\nname "
                      "= \"a\"\n[expect]\nlistener_alive = false\n")
          .find("t.toml:6:17: each 'answer_bytes' entry must be an integer -1..11"),
      std::string::npos);
  EXPECT_NE(error_of(head + "[target]\nkind = \"fake-listener\"\nanswer_bytes = [1]\n[[workers]]\n"
                            "name = \"a\"\n")
                .find("set listener_alive = false"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\n[[expect.outcomes]]\ngroup = \"b\"\n"
                            "outcome = \"cannot-connect\"\n")
                .find("outcomes names group 'b'"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\n[[expect.outcomes]]\ngroup = \"a\"\n"
                            "outcome = \"vanished\"\n")
                .find("outcome must be cannot-connect"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\nworkload = \"second-mux\"\n")
                .find("needs an [[expect.outcomes]] entry"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\n[[expect.outcomes]]\ngroup = \"a\"\n"
                            "outcome = \"refused-to-listen\"\n")
                .find("refused-to-listen is the outcome of a second-mux group"),
            std::string::npos);
  EXPECT_NE(error_of(head + "[[workers]]\nname = \"a\"\n[[expect.outcomes]]\ngroup = \"a\"\n"
                            "outcome = \"cannot-connect\"\nerrno = [\"refused\"]\n")
                .find("errno entries are names like ECONNREFUSED"),
            std::string::npos);
  scenario s = parse_scenario(head +
                                  "[target]\nstale_socket = true\n[[workers]]\nname = \"a\"\n"
                                  "path = \"stale\"\n[expect]\ntarget_dies = true\n"
                                  "[[expect.outcomes]]\ngroup = \"a\"\noutcome = "
                                  "\"cannot-connect\"\nerrno = [\"ECONNREFUSED\"]\n",
                              "t.toml");
  EXPECT_TRUE(s.target.stale_socket);
  EXPECT_EQ(s.workers[0].path, "stale");
  EXPECT_TRUE(s.expect.target_dies);
  ASSERT_EQ(s.expect.outcomes.size(), 1u);
  EXPECT_EQ(s.expect.outcomes[0].errnos, std::vector<std::string>{"ECONNREFUSED"});
}

}  // namespace
}  // namespace faultmux
