// Explore's pure parts: fault points and their rules, collapse into classes,
// effects and their classes, shards, and the single-fault oracles on
// hand-made timelines (each shown firing and quiet).
#include <sys/wait.h>

#include <cstdlib>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "faults/rules.hpp"
#include "harness/explore/effects.hpp"
#include "harness/explore/explore.hpp"
#include "harness/explore/fault_point.hpp"
#include "harness/explore/single_fault_oracles.hpp"

namespace faultmux {
namespace {

timeline_event ev(double t, pid_t pid, const std::string& source, nlohmann::json fields) {
  timeline_event e;
  e.t = t;
  e.source = source;
  e.data = std::move(fields);
  e.data["t"] = t;
  if (!e.data.contains("pid")) e.data["pid"] = pid;
  return e;
}

timeline_event trace(const std::string& call, const std::string& cls, const std::string& peer,
                     const std::string& phase, int conn_n) {
  return ev(1, 10, "faults",
            {{"event", "fault"},
             {"role", "mux"},
             {"call", call},
             {"fd_class", cls},
             {"peer", peer},
             {"phase", phase},
             {"conn_n", conn_n},
             {"effect", "trace"}});
}

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
  injected.data["effect"] = "EIO";  // a fault, not a trace: no point
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
[[workers]]
name = "servers"
count = 1
workload = "serve"
[[workers]]
name = "good"
count = 2
workload = "echo"
peer = "servers"
messages = 5
)",
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

const oracle_result& named(const std::vector<oracle_result>& rs, const std::string& n) {
  for (const auto& r : rs)
    if (r.name == n) return r;
  static oracle_result none{"none", verdict::error, {}};
  return none;
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
  bad.back().data["failed"] = 1;
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

}  // namespace
}  // namespace faultmux
