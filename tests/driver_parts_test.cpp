// The driver's pure parts: command lines of the target and the workers, the
// fault packages (what they add and how the report names what fired), and
// the probe's account of a send that failed.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/driver.hpp"
#include "harness/fault_packages/fault_package.hpp"
#include "harness/probe.hpp"
#include "harness/target_command.hpp"
#include "harness/worker_command.hpp"

namespace faultmux {
namespace {

using json = nlohmann::json;

// The value after `flag` in argv, or "" when it is not there.
std::string arg_after(const std::vector<std::string>& argv, const std::string& flag) {
  auto it = std::find(argv.begin(), argv.end(), flag);
  return it == argv.end() || it + 1 == argv.end() ? "" : *(it + 1);
}

scenario hostile_scenario() {
  return parse_scenario(R"(name = "h"
description = "a hostile worker"
origin = "driver_parts_test"
timeout_ms = 6000

[[workers]]
name = "bad"
workload = "hostile"
behave = "bad-magic"
)",
                        "h.toml");
}

// The hostile worker attacks the target it runs against: under --target
// mitogen its message size limit is Mitogen's, not the scenario's.
TEST(WorkerCommand, HostileUsesTheEffectiveTargetsMessageSize) {
  scenario s = hostile_scenario();
  target_spec effective = s.target;
  effective.max_message_size = s.target.max_message_size / 2;
  worker_launch l;
  l.self = "faultmux";
  l.seed = 7;
  auto argv = worker_argv(s, effective, s.workers[0], 1, l, run_paths("/run"));
  EXPECT_EQ(arg_after(argv, "--max-message-size"), std::to_string(effective.max_message_size));
  EXPECT_EQ(arg_after(argv, "--seed"), "8");
  EXPECT_EQ(arg_after(argv, "--events"), "/run/worker-bad-1.events");
  EXPECT_EQ(arg_after(argv, "--hold-ms"), "2000");
}

// A worker is faultmux-worker when the launch names it, `faultmux worker`
// otherwise (its workers carry syscall rules: the shim needs a dynamic binary).
TEST(WorkerCommand, TheSmallWorkerBinaryRunsTheWorkerRole) {
  scenario s = hostile_scenario();
  worker_launch l;
  l.self = "/bin/faultmux";
  auto argv = worker_argv(s, s.target, s.workers[0], 0, l, run_paths("/run"));
  ASSERT_GE(argv.size(), 2u);
  EXPECT_EQ(argv[0], "/bin/faultmux");
  EXPECT_EQ(argv[1], "worker");
  l.small_worker = "/bin/faultmux-worker";
  argv = worker_argv(s, s.target, s.workers[0], 0, l, run_paths("/run"));
  EXPECT_EQ(argv[0], "/bin/faultmux-worker");
  EXPECT_EQ(argv[1], "worker");
}

// A full backlog: a worker waits for room for its whole connect timeout, as
// Mitogen's client (a blocking connect) does, unless the group bounds the wait.
TEST(WorkerCommand, AFullBacklogIsWaitedForUnlessBounded) {
  scenario s = parse_scenario(R"(name = "b"
description = "backlog"
origin = "driver_parts_test"

[[workers]]
name = "plain"

[[workers]]
name = "at-once"
backlog_wait_ms = 0

[[workers]]
name = "bounded"
backlog_wait_ms = 250
)",
                              "b.toml");
  worker_launch l;
  l.self = "faultmux";
  auto wait_of = [&](int group) {
    auto argv = worker_argv(s, s.target, s.workers[static_cast<std::size_t>(group)], 0, l,
                            run_paths("/run"));
    return arg_after(argv, "--backlog-wait-ms");
  };
  EXPECT_EQ(wait_of(0), "");  // the worker's default: the whole connect timeout
  EXPECT_EQ(wait_of(1), "0");
  EXPECT_EQ(wait_of(2), "250");
}

TEST(WorkerCommand, EchoTakesItsPeerFromThePeerGroupsIds) {
  scenario s = parse_scenario(R"(name = "e"
description = "echo"
origin = "driver_parts_test"

[[workers]]
name = "servers"
workload = "serve"
count = 2

[[workers]]
name = "good"
workload = "echo"
peer = "servers"
messages = 3
fault_at = "pid-sent:SIGKILL"
)",
                              "e.toml");
  worker_launch l;
  l.self = "faultmux";
  l.ids_by_group["servers"] = {11, 12};
  auto packages = packages_for(s);
  l.faults = &packages;
  auto argv = worker_argv(s, s.target, s.workers[1], 3, l, run_paths("/run"));
  EXPECT_EQ(arg_after(argv, "--peer"), "12");
  EXPECT_EQ(arg_after(argv, "--count"), "3");
  EXPECT_EQ(arg_after(argv, "--connect"), "/run/mux.sock");
  // The phase package adds the worker's own fault.
  EXPECT_EQ(arg_after(argv, "--fault-at"), "pid-sent:SIGKILL");
}

// The mux is given this long after SIGTERM: the effective target's grace.
TEST(TargetCommand, StopGraceIsTheEffectiveTargets) {
  target_spec t;
  t.shutdown_grace_ms = 250;
  EXPECT_EQ(target_stop_grace(t), ms(3250));
}

TEST(TargetCommand, FaultsShapeTheBuiltinMuxAndTheShim) {
  scenario s = parse_scenario(R"(name = "f"
description = "faults"
origin = "driver_parts_test"

[[workers]]
name = "w"
count = 3

[[faults]]
kind = "syscall"
rule = "recv@accepted#1 per-fd -> EAGAIN"

[[faults]]
kind = "context"
context = "a"
fault_at = "mid-call:SIGKILL"
)",
                              "f.toml");
  target_launch l{"faultmux", {"crash-on-eagain"}, {}};
  for (const auto& p : packages_for(s)) p->shape_target(l.faults);
  ASSERT_EQ(l.faults.shim_rules, std::vector<std::string>{"recv@accepted#1 per-fd -> EAGAIN"});
  auto argv = target_argv(s, s.target, l, run_paths("/run"));
  EXPECT_EQ(arg_after(argv, "--backlog"), "3");
  EXPECT_EQ(arg_after(argv, "--legacy-bug"), "crash-on-eagain");
  EXPECT_EQ(arg_after(argv, "--context-fault-at"), "a=mid-call:SIGKILL");
  EXPECT_EQ(arg_after(argv, "--events"), "/run/mux.events");
  auto env = shim_prefix("/lib/shim.so", l.faults.shim_rules, 9, run_paths("/run"), "x=1");
  EXPECT_NE(std::find(env.begin(), env.end(), "LD_PRELOAD=/lib/shim.so"), env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "ASAN_OPTIONS=x=1:verify_asan_link_order=0"),
            env.end());
  EXPECT_NE(std::find(env.begin(), env.end(), "FAULTMUX_FAULT_LOG=/run/faults.log"), env.end());
  EXPECT_TRUE(shim_prefix("/lib/shim.so", {}, 9, run_paths("/run"), nullptr).empty());
}

timeline_event fault_event(const std::string& source, json fields) {
  fields["event"] = "fault";
  return timeline_event::of(2.5, source, fields);
}

TEST(FaultPackages, EachKindDescribesItsOwnEvents) {
  timeline tl{
      fault_event("driver", {{"kind", "signal"}, {"what", "SIGSTOP"}, {"target_pid", 42}}),
      fault_event("faults", {{"call", "recv"},
                             {"fd_class", "accepted"},
                             {"fd", 7},
                             {"rule", 1},
                             {"rule_text", "recv -> EAGAIN"},
                             {"n", 1},
                             {"effect", "EAGAIN"}}),
      fault_event("worker-w-0", {{"kind", "phase"}, {"action", "SIGSTOP"}, {"spec", "connect"}}),
      fault_event("driver", {{"kind", "nofile"},
                             {"what", "RLIMIT_NOFILE soft 1024 -> 8"},
                             {"target_pid", 42},
                             {"errno", "EPERM"}})};
  tl.front().t = 1.0;
  auto f = faults_of(tl);
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].kind, "signal");
  EXPECT_EQ(f[0].what, "SIGSTOP (pid 42)");
  EXPECT_DOUBLE_EQ(f[0].at_s, 0.0);
  EXPECT_EQ(f[1].kind, "syscall");
  EXPECT_EQ(f[1].rule, "rule 1 'recv -> EAGAIN'");
  EXPECT_DOUBLE_EQ(f[1].at_s, 1.5);
  EXPECT_EQ(f[2].kind, "phase");
  EXPECT_EQ(f[2].what, "SIGSTOP at phase connect");
  EXPECT_EQ(f[3].what, "RLIMIT_NOFILE soft 1024 -> 8 (pid 42): EPERM");
}

// A peer that never reads: the send ends at its deadline, and says so,
// not with the EAGAIN of its last send(2).
TEST(Probe, ASendThatTimesOutSaysTimeout) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
  message m;
  m.handle = 1;
  m.data = std::string(4 << 20, 'x');
  EXPECT_EQ(send_message(sv[0], m, run_clock::now() + ms(100)), "timeout");
  ::close(sv[1]);
  EXPECT_EQ(send_message(sv[0], m, run_clock::now() + ms(100)), "EPIPE");
  ::close(sv[0]);
}

TEST(Verdict, ErrorFailNotApplicablePass) {
  scenario_result r;
  r.error = true;
  EXPECT_EQ(verdict_of(r), reports::verdict::error);
  r.error = false;
  r.oracles = {{"clean exit", reports::verdict::fail, {"exit 1"}}};
  EXPECT_EQ(verdict_of(r), reports::verdict::fail);
  r.oracles = {{"clean exit", reports::verdict::pass, {}}};
  r.passed = true;
  r.unserved = {"calls"};
  EXPECT_EQ(verdict_of(r), reports::verdict::not_applicable);
  r.unserved.clear();
  EXPECT_EQ(verdict_of(r), reports::verdict::pass);
  r.report.description = "kept";
  r.file = "x.toml";
  auto e = report_entry(r);
  EXPECT_EQ(e.verdict, reports::verdict::pass);
  EXPECT_EQ(e.description, "kept");
  EXPECT_EQ(e.file, "x.toml");
}

}  // namespace
}  // namespace faultmux
