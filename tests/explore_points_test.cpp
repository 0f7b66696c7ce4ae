// Explore's pure parts: fault points and their rules, collapse into classes,
// effects and their classes, shards, and the single-fault oracles on
// hand-made timelines (each shown firing and quiet); and (ExploreWorkerCalls,
// label integration) the workers' traced calls hit again on real processes.
#include <sys/wait.h>

#include <cstdlib>
#include <set>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "faults/rules.hpp"
#include "harness/driver.hpp"
#include "harness/explore/effects.hpp"
#include "harness/explore/explore.hpp"
#include "harness/explore/fault_point.hpp"
#include "harness/explore/single_fault_oracles.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"
#include "tests/support/timeline_events.hpp"

namespace faultmux {
namespace {

using test::ev;
using test::named;
using test::trace;
TEST(ExplorePoints, RulesAddressExactlyOnePointAndParse) {
  fault_point p{"mux", "recv", "accepted", "good:3", "stream", 2};
  EXPECT_EQ(p.key(), "recv@accepted peer=good:3 phase=stream #2");
  EXPECT_EQ(p.class_key(), "recv@accepted peer=good:* phase=stream #2");
  EXPECT_EQ(p.group(), "good");
  EXPECT_EQ(p.index(), 3);
  EXPECT_EQ(p.rule("EIO"), "recv@accepted peer=good:3 phase=stream #2 per-fd -> EIO");
  fault_point a{"mux", "accept4", "listener", "-", "accept", 3};
  EXPECT_EQ(a.rule("EMFILE"), "accept4@listener #3 -> EMFILE");
  EXPECT_EQ(a.class_key(), a.key());
  // Every rule explore writes is one the shim takes, every effect included.
  for (const fault_point& x : {p, a})
    for (const auto& fx : effects_for(x)) {
      faults::rule r;
      auto error = faults::parse_rule(x.rule(fx.name), r);
      EXPECT_FALSE(error) << x.rule(fx.name) << ": " << (error ? error->message : "");
    }
}

TEST(ExplorePoints, TracedCallsBecomePointsButUnnamedPeersDoNot) {
  timeline tl{
      trace("recv", "accepted", "good:0", "handshake", 1),
      trace("recv", "accepted", "good:0", "stream", 1),
      trace("recv", "accepted", "good:0", "stream", 1),  // the same point twice: one
      trace("recv", "accepted", "?", "stream", 1),       // the probe: nobody to name
      trace("accept4", "listener", "-", "accept", 1),
      trace("accept4", "listener", "-", "accept", 2),
  };
  timeline_event injected = trace("recv", "accepted", "good:1", "stream", 1);
  injected.set("effect", "EIO");  // a fault, not a trace: no point
  tl.push_back(injected);
  auto pts = traced_points(tl);
  ASSERT_EQ(pts.size(), 4u);
  std::set<std::string> keys;
  for (const auto& p : pts) keys.insert(p.key());
  EXPECT_TRUE(keys.count("accept4@listener #1"));
  EXPECT_TRUE(keys.count("accept4@listener #2"));
  EXPECT_TRUE(keys.count("recv@accepted peer=good:0 phase=handshake #1"));
  EXPECT_FALSE(keys.count("recv@accepted peer=? phase=stream #1"));
}

timeline_event worker_trace(const std::string& call, const std::string& self,
                            const std::string& phase, int conn_n, int n) {
  timeline_event e = trace(call, "connecting", "listener", phase, conn_n);
  e.set("role", "worker");
  e.set("self", self);
  e.set("n", n);
  return e;
}

// A worker's own calls are points named by the worker itself, each with a
// rule that the workers' shim takes and that only that worker's shim keeps.
TEST(ExplorePoints, WorkerCallsAreNamedByTheWorkerAndAimedAtIt) {
  timeline tl{worker_trace("connect", "good:1", "connect", 1, 1),
              worker_trace("send", "good:1", "handshake", 1, 1),
              worker_trace("recv", "good:1", "stream", 3, 7),
              worker_trace("recv", "", "stream", 3, 7)};  // a process with no name: no point
  auto pts = traced_points(tl);
  ASSERT_EQ(pts.size(), 3u);
  std::set<std::string> keys, rules;
  for (const auto& p : pts) {
    EXPECT_EQ(p.role, "worker");
    EXPECT_TRUE(p.in_worker());
    keys.insert(p.key());
    rules.insert(p.rule("EIO"));
  }
  EXPECT_TRUE(keys.count("connect@connecting self=good:1 phase=connect #1"));
  EXPECT_TRUE(keys.count("recv@connecting self=good:1 phase=stream #3"));
  // A connect is counted in the process (a retry is a new socket); data calls per connection.
  EXPECT_TRUE(rules.count("connect@connecting self=good:1 phase=connect #1 -> EIO"));
  EXPECT_TRUE(rules.count("recv@connecting self=good:1 phase=stream #3 per-fd -> EIO"));
  fault_point c = pts.front();
  EXPECT_EQ(c.class_key(), "connect@connecting self=good:* phase=connect #1");
  EXPECT_FALSE((fault_point{"worker", "process", "", "good:1", "pid-sent", 0}.in_worker()));
  for (const auto& p : pts)
    for (const auto& fx : effects_for(p)) {
      faults::rule r;
      auto error = faults::parse_rule(p.rule(fx.name), r);
      ASSERT_FALSE(error) << p.rule(fx.name) << ": " << (error ? error->message : "");
      EXPECT_TRUE(faults::self_matches(r, "good:1"));
      EXPECT_FALSE(faults::self_matches(r, "good:0"));
    }
}

// A found violation in a worker's call is a plain scenario: its rule goes
// to the workers with in = "workers", which only a syscall fault takes.
TEST(ExplorePoints, ASyscallFaultCanBeAimedAtTheWorkers) {
  const std::string head = R"(name = "t"
description = "d"
origin = "o"
[[workers]]
name = "good"
count = 1
workload = "connect"
[[faults]]
)";
  scenario s = parse_scenario(head + R"(kind = "syscall"
in = "workers"
rule = "connect self=good:0 #1 -> ECONNREFUSED"
)",
                              "t.toml");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].in, "workers");
  EXPECT_EQ(
      parse_scenario(head + "kind = \"syscall\"\nrule = \"recv -> EIO\"\n", "t.toml").faults[0].in,
      "mux");
  EXPECT_THROW(parse_scenario(head + "kind = \"syscall\"\nin = \"contexts\"\nrule = \"recv -> "
                                     "EIO\"\n",
                              "t.toml"),
               scenario_error);
  EXPECT_THROW(parse_scenario(head + "kind = \"signal\"\nsignal = \"SIGKILL\"\nin = \"workers\"\n",
                              "t.toml"),
               scenario_error);
}

TEST(ExplorePoints, CollapseKeepsTheLowestIndexAndEveryMember) {
  std::vector<fault_point> pts{{"mux", "recv", "accepted", "good:2", "stream", 1},
                               {"mux", "recv", "accepted", "good:0", "stream", 1},
                               {"mux", "recv", "accepted", "servers:1", "stream", 1},
                               {"mux", "recv", "accepted", "good:1", "stream", 2}};
  auto classes = collapse(pts);
  ASSERT_EQ(classes.size(), 3u);
  for (const auto& c : classes) {
    if (c.representative.class_key() == "recv@accepted peer=good:* phase=stream #1") {
      EXPECT_EQ(c.representative.peer, "good:0");
      EXPECT_EQ(c.members.size(), 2u);
    }
  }
}

TEST(ExplorePoints, EffectsFitTheCallAndCarryTheirClass) {
  auto names = [](const std::vector<effect>& v) {
    std::string s;
    for (const auto& e : v) s += e.name + "/" + e.fault_class + " ";
    return s;
  };
  EXPECT_EQ(names(effects_for({"mux", "recvmsg", "accepted", "a:0", "stream", 1})),
            "EAGAIN/transient EINTR/transient short 1/transient ECONNRESET/hard EIO/hard "
            "eof/hard ");
  EXPECT_EQ(names(effects_for({"mux", "sendmsg", "accepted", "a:0", "stream", 1})),
            "EAGAIN/transient EINTR/transient short 1/transient EPIPE/hard ECONNRESET/hard ");
  EXPECT_EQ(names(effects_for({"mux", "accept4", "listener", "-", "accept", 1})),
            "EAGAIN/transient EINTR/transient ECONNABORTED/transient EMFILE/resource "
            "ENFILE/resource ");
  // A server is SIGKILLed but never stalled: its requesters wait for it by design.
  EXPECT_EQ(names(effects_for({"server", "process", "", "s:0", "pid-sent", 0})), "SIGKILL/hard ");
  EXPECT_EQ(names(effects_for({"worker", "process", "", "g:0", "pid-sent", 0})),
            "SIGKILL/hard SIGSTOP/stall ");
  EXPECT_EQ(
      names(narrowed(effects_for({"mux", "recv", "accepted", "a:0", "stream", 1}), {"EIO", "eof"})),
      "EIO/hard eof/hard ");
  // A worker retries EINTR and a full backlog (EAGAIN), and gives up on anything else.
  EXPECT_EQ(names(effects_for({"worker", "connect", "connecting", "g:0", "connect", 1})),
            "EAGAIN/transient EINTR/transient ECONNREFUSED/hard ENOENT/hard ");
  EXPECT_EQ(names(effects_for({"worker", "recv", "connecting", "g:0", "stream", 1})),
            names(effects_for({"mux", "recv", "accepted", "g:0", "stream", 1})));
}

TEST(ExplorePoints, ShardsComeFromTheOptionOrTheCiEnvironment) {
  ::unsetenv("CI_NODE_INDEX");
  ::unsetenv("CI_NODE_TOTAL");
  ::unsetenv("JOB_COMPLETION_INDEX");
  explore_options o;
  EXPECT_FALSE(choose_shard("", 0, o));
  EXPECT_EQ(o.shard, 0);
  EXPECT_EQ(o.shards, 1);
  EXPECT_FALSE(choose_shard("2/4", 0, o));
  EXPECT_EQ(o.shard, 1);
  EXPECT_EQ(o.shards, 4);
  EXPECT_TRUE(choose_shard("5/4", 0, o));
  EXPECT_TRUE(choose_shard("x", 0, o));
  EXPECT_TRUE(choose_shard("", 3, o));  // --shards without an index
  ::setenv("CI_NODE_INDEX", "3", 1);
  ::setenv("CI_NODE_TOTAL", "3", 1);
  EXPECT_FALSE(choose_shard("", 0, o));
  EXPECT_EQ(o.shard, 2);
  EXPECT_EQ(o.shards, 3);
  ::unsetenv("CI_NODE_INDEX");
  ::unsetenv("CI_NODE_TOTAL");
  ::setenv("JOB_COMPLETION_INDEX", "0", 1);
  EXPECT_FALSE(choose_shard("", 2, o));
  EXPECT_EQ(o.shard, 0);
  EXPECT_EQ(o.shards, 2);
  ::unsetenv("JOB_COMPLETION_INDEX");
}

// --- the single-fault oracles on hand-made runs ------------------------------------

scenario one_fault(const std::string& cls, const std::string& peer) {
  scenario s = parse_scenario(R"(name = "t"
description = "d"
origin = "o"
)" + test::echo_groups(1, 2, 5),
                              "t.toml");
  s.expect.fault_class = cls;
  s.expect.faulted_peer = peer;
  s.expect.faults_fired = false;  // judged here: nothing fired in a hand-made run
  return s;
}

run_outcome outcome() {
  run_outcome o;
  o.processes = {{"mux", "", 10, 0},
                 {"worker-servers-0", "servers", 20, 0},
                 {"worker-good-0", "good", 30, 0},
                 {"worker-good-1", "good", 31, 0}};
  o.probe_ok = true;
  o.probe_detail = "probe ok";
  return o;
}

// A run where every worker did its work.
timeline good_run() {
  timeline tl;
  tl.push_back(ev(0.1, 20, "worker-servers-0", {{"event", "connected"}, {"context_id", 1}}));
  tl.push_back(ev(0.1, 30, "worker-good-0", {{"event", "connected"}, {"context_id", 2}}));
  tl.push_back(ev(0.1, 31, "worker-good-1", {{"event", "connected"}, {"context_id", 3}}));
  for (pid_t p : {30, 31})
    tl.push_back(ev(0.2, p, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 0}}));
  return tl;
}

TEST(SingleFaultOracles, TransientMustBeInvisible) {
  scenario s = one_fault("transient", "good:0");
  timeline tl = good_run();
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "invisible").v, verdict::pass);
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "others intact").v, verdict::pass);
  timeline bad = tl;
  bad.push_back(ev(0.15, 10, "mux",
                   {{"event", "disconnect"},
                    {"stream", "unix_client.30"},
                    {"why", "recv failed"},
                    {"errno", "EAGAIN"}}));
  auto rs = judge_single_fault(s, bad, outcome());
  EXPECT_EQ(named(rs, "invisible").v, verdict::fail);
  // A transient fault may cost even its own worker nothing.
  bad = tl;
  bad.back().set("failed", 1);
  EXPECT_EQ(named(judge_single_fault(s, bad, outcome()), "others intact").v, verdict::fail);
}

TEST(SingleFaultOracles, HardIsContainedToItsPeerAndLogged) {
  scenario s = one_fault("hard", "good:0");
  timeline tl = good_run();
  tl.pop_back();
  tl.pop_back();
  tl.push_back(ev(0.2, 31, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 0}}));
  tl.push_back(ev(0.2, 30, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 5}}));
  timeline_event gone = ev(0.15, 10, "mux",
                           {{"event", "disconnect"},
                            {"stream", "unix_client.30"},
                            {"why", "recv failed"},
                            {"errno", "ECONNRESET"}});
  timeline_event line =
      ev(0.15, 10, "mux",
         {{"event", "log"},
          {"level", "error"},
          {"msg", "stream unix_client.30: recv failed: ECONNRESET: disconnecting"}});
  timeline logged = tl;
  logged.push_back(line);
  logged.push_back(gone);
  EXPECT_EQ(named(judge_single_fault(s, logged, outcome()), "contained").v, verdict::pass);
  EXPECT_EQ(named(judge_single_fault(s, logged, outcome()), "others intact").v, verdict::pass);
  // The same disconnect without its line.
  timeline silent = tl;
  silent.push_back(gone);
  EXPECT_EQ(named(judge_single_fault(s, silent, outcome()), "contained").v, verdict::fail);
  // An untouched worker's stream going too.
  timeline spread = logged;
  spread.push_back(ev(0.16, 10, "mux",
                      {{"event", "disconnect"},
                       {"stream", "unix_client.31"},
                       {"why", "recv failed"},
                       {"errno", "EIO"}}));
  EXPECT_EQ(named(judge_single_fault(s, spread, outcome()), "contained").v, verdict::fail);
}

// A pair of hard faults on two workers may cost both of them ("good:0,good:1"),
// each going logged; naming only one of them leaves the other untouched.
TEST(SingleFaultOracles, TwoHardFaultedPeersMayBothGo) {
  timeline tl = good_run();
  tl.pop_back();
  tl.pop_back();
  for (pid_t p : {30, 31}) {
    tl.push_back(ev(0.2, p, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 5}}));
    tl.push_back(ev(0.15, 10, "mux",
                    {{"event", "log"},
                     {"level", "error"},
                     {"msg", fmt::format("stream unix_client.{}: recv failed: EIO", p)}}));
    tl.push_back(ev(0.15, 10, "mux",
                    {{"event", "disconnect"},
                     {"stream", fmt::format("unix_client.{}", p)},
                     {"why", "recv failed"},
                     {"errno", "EIO"}}));
  }
  auto both = judge_single_fault(one_fault("hard", "good:0,good:1"), tl, outcome());
  EXPECT_EQ(named(both, "contained").v, verdict::pass) << named(both, "contained").evidence[0];
  EXPECT_EQ(named(both, "others intact").v, verdict::pass);
  auto one = judge_single_fault(one_fault("hard", "good:0"), tl, outcome());
  EXPECT_EQ(named(one, "contained").v, verdict::fail);
}

// A worker that did all its work and left while a frame of the mux's was on
// its way resets the connection (ECONNRESET at the mux's recv, EPIPE at its
// send): that costs nobody anything. The same reset from a worker that did
// not finish is an untouched stream going.
TEST(SingleFaultOracles, AResetFromAWorkerThatFinishedIsClean) {
  scenario s = one_fault("transient", "good:0");
  timeline done = good_run();
  done.push_back(ev(0.25, 10, "mux",
                    {{"event", "disconnect"},
                     {"stream", "unix_client.31"},
                     {"why", "recv failed"},
                     {"errno", "ECONNRESET"}}));
  EXPECT_EQ(named(judge_single_fault(s, done, outcome()), "invisible").v, verdict::pass);
  timeline unfinished = done;
  for (auto& e : unfinished)
    if (e.pid() == 31 && e.event() == "workload_done") e.set("failed", 2);
  EXPECT_EQ(named(judge_single_fault(s, unfinished, outcome()), "invisible").v, verdict::fail);
}

// A worker whose own connect was failed never reaches the mux: its failure
// is allowed and nothing at the mux is owed for it; the same failure with
// the fault in the mux is a stream the mux lost track of.
TEST(SingleFaultOracles, AWorkerFailedAtItsOwnConnectIsContained) {
  scenario s = one_fault("hard", "good:0");
  timeline tl = good_run();
  tl.erase(tl.begin() + 1);  // good:0 never connected
  tl.pop_back();
  tl.pop_back();
  tl.push_back(ev(0.2, 31, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 0}}));
  tl.push_back(ev(0.05, 30, "w", {{"event", "connect_failed"}, {"errno", "ECONNREFUSED"}}));
  run_outcome o = outcome();
  o.processes[2].status = 3 << 8;  // exit 3
  EXPECT_EQ(named(judge_single_fault(s, tl, o), "contained").v, verdict::fail);
  fault_spec f;
  f.rule = "connect@connecting self=good:0 phase=connect #1 -> ECONNREFUSED";
  f.in = "workers";
  s.faults.push_back(f);
  auto rs = judge_single_fault(s, tl, o);
  EXPECT_EQ(named(rs, "contained").v, verdict::pass);
  EXPECT_EQ(named(rs, "others intact").v, verdict::pass);
  // Another worker failing too is not contained.
  run_outcome spread = o;
  spread.processes[3].status = 3 << 8;
  EXPECT_EQ(named(judge_single_fault(s, tl, spread), "others intact").v, verdict::fail);
}

TEST(SingleFaultOracles, RequestersOfAHardFaultedServerMayFailOnlyWithDeadReplies) {
  scenario s = one_fault("hard", "servers:0");
  timeline tl = good_run();
  tl.pop_back();
  tl.pop_back();
  tl.push_back(ev(0.2, 30, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 5}}));
  tl.push_back(ev(0.2, 31, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 5}}));
  tl.push_back(
      ev(0.15, 10, "mux",
         {{"event", "disconnect"}, {"stream", "unix_client.20"}, {"why", "EOF"}, {"errno", ""}}));
  // Without dead replies, the failed workers count as untouched: a violation.
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "others intact").v, verdict::fail);
  // Answered dead (as the respondent, and as "no route" after), they are its requesters.
  tl.push_back(ev(0.16, 10, "mux",
                  {{"event", "dead"},
                   {"reason", "the respondent Context has disconnected"},
                   {"dst", 2},
                   {"respondent", 1}}));
  tl.push_back(ev(0.17, 10, "mux",
                  {{"event", "dead"}, {"reason", "no route to 1, my ID is 0"}, {"dst", 3}}));
  auto rs = judge_single_fault(s, tl, outcome());
  EXPECT_EQ(named(rs, "others intact").v, verdict::pass);
  EXPECT_EQ(named(rs, "contained").v, verdict::pass);
}

TEST(SingleFaultOracles, AStallHoldsUpNobody) {
  scenario s = one_fault("stall", "good:0");
  timeline tl = good_run();
  tl.push_back(ev(
      1.0, 1, "driver",
      {{"event", "fault"}, {"kind", "resume"}, {"target_pid", 30}, {"what", "SIGCONT (phase)"}}));
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "not held up").v, verdict::pass);
  timeline late = tl;
  late.push_back(ev(1.2, 31, "w", {{"event", "workload_done"}, {"count", 5}, {"failed", 0}}));
  EXPECT_EQ(named(judge_single_fault(s, late, outcome()), "not held up").v, verdict::fail);
  timeline never = good_run();  // it never stopped, so it was never resumed
  EXPECT_EQ(named(judge_single_fault(s, never, outcome()), "not held up").v, verdict::fail);
}

TEST(SingleFaultOracles, AResourceFaultIsLoggedAndCostsNoStream) {
  scenario s = one_fault("resource", "-");
  timeline tl = good_run();
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "survived").v, verdict::fail);
  tl.push_back(ev(0.1, 10, "mux",
                  {{"event", "log"},
                   {"level", "error"},
                   {"msg", "listener: accept() failed: EMFILE: retrying in 5 ms"}}));
  EXPECT_EQ(named(judge_single_fault(s, tl, outcome()), "survived").v, verdict::pass);
  run_outcome down = outcome();
  down.probe_ok = false;
  EXPECT_EQ(named(judge_single_fault(s, tl, down), "listener alive").v, verdict::fail);
}

// --- the workers' own calls on real processes ------------------------------------

scenario small_echo() {
  return parse_scenario(R"(name = "w"
description = "d"
origin = "o"
timeout_ms = 9000
)" + test::echo_groups(1, 1, 2),
                        "w.toml");
}

// The workers' traced calls, seen in each of two runs.
std::vector<fault_point> stable_worker_points(const scenario& s, const driver_options& base) {
  std::set<std::string> first;
  std::vector<fault_point> out;
  for (int run = 0; run < 2; ++run) {
    scenario t = s;
    for (const auto& r : worker_trace_rules()) {
      fault_spec f;
      f.rule = r;
      f.in = "workers";
      t.faults.push_back(f);
    }
    std::vector<fault_point> pts;
    driver_options d = base;
    d.observe = [&](const timeline& tl, const run_outcome&) { pts = traced_points(tl); };
    EXPECT_TRUE(run_scenario(t, 1, d).passed);
    for (const auto& p : pts) {
      if (!p.in_worker()) continue;
      if (run == 0) first.insert(p.key());
      if (run == 1 && first.count(p.key())) out.push_back(p);
    }
  }
  return out;
}

// Each traced call of a worker, rebuilt into the rule explore writes for it
// and given to the workers, fires exactly once, on that call of that worker.
TEST(ExploreWorkerCalls, EachTracedCallIsHitExactlyOnceByItsRule) {
  driver_options d;
  d.self = test::binary();
  const scenario s = small_echo();
  std::vector<fault_point> pts = stable_worker_points(s, d);
  EXPECT_GE(pts.size(), 6u) << "a connect, handshake and stream calls of each worker";
  std::set<std::string> phases, selves;
  for (const auto& p : pts) phases.insert(p.phase), selves.insert(p.peer);
  EXPECT_EQ(phases, (std::set<std::string>{"connect", "handshake", "stream"}));
  EXPECT_EQ(selves, (std::set<std::string>{"good:0", "servers:0"}));
  for (const auto& p : pts) {
    scenario one = s;
    fault_spec f;
    f.rule = p.rule("trace");
    f.in = "workers";
    one.faults.push_back(f);
    std::vector<std::string> hits;
    d.observe = [&](const timeline& tl, const run_outcome&) {
      for (const auto& e : tl)
        if (e.source == "faults" && e.event() == "fault") {
          std::vector<fault_point> one_point = traced_points({e});
          hits.push_back(one_point.empty() ? "unnamed" : one_point.front().key());
        }
    };
    scenario_result r = run_scenario(one, 1, d);
    EXPECT_TRUE(r.passed) << p.key();
    ASSERT_EQ(hits.size(), 1u) << p.rule("trace");
    EXPECT_EQ(hits.front(), p.key());
  }
}

}  // namespace
}  // namespace faultmux
