// Explore on the mux's channels to its contexts and the contexts' own calls:
// channel points named by their contexts, their rules, and the single-fault
// oracles on hand-made runs with contexts (each shown firing and quiet); and
// (ExploreChannelCalls, label integration) every traced channel call, the
// mux's and the context's, hit again on real processes by its rule.
#include <map>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "faults/rules.hpp"
#include "harness/driver.hpp"
#include "harness/explore/effects.hpp"
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
timeline_event context_trace(const std::string& call, const std::string& self,
                             const std::string& peer, int conn_n, pid_t pid = 40) {
  timeline_event e = trace(call, "channel", peer, "stream", conn_n);
  e.set("role", "context");
  e.set("self", self);
  e.set("pid", pid);
  return e;
}

timeline_event child_start(const std::string& role, pid_t starter, const std::string& child,
                           pid_t child_pid) {
  return ev(0.01, starter, "mux",
            {{"event", "child_start"}, {"role", role}, {"child", child}, {"child_pid", child_pid}});
}

// The mux's calls on a channel are named by the context at its other end; a
// context's own by the context and the other end. Each context is its own
// class. A channel from a context down to one it started costs that one.
TEST(ExplorePoints, ChannelCallsAreNamedByTheirContexts) {
  timeline tl{child_start("mux", 10, "hop", 40),
              child_start("context", 40, "leaf", 50),
              trace("recv", "channel", "context:hop", "stream", 1),
              trace("sendmsg", "channel", "?", "stream", 1),  // nobody named: no point
              context_trace("recv", "context:hop", "mux", 2),
              context_trace("sendmsg", "context:hop", "context:leaf", 1),
              context_trace("recv", "context:leaf", "context:hop", 3, 50),
              context_trace("recv", "context:leaf", "?", 4, 50)};
  std::map<std::string, fault_point> by_key;
  for (const auto& p : traced_points(tl)) by_key[p.key()] = p;
  ASSERT_EQ(by_key.size(), 4u);
  const fault_point& mux = by_key.at("recv@channel peer=context:hop phase=stream #1");
  EXPECT_EQ(mux.role, "mux");
  EXPECT_EQ(mux.rule("EIO"), "recv@channel peer=context:hop phase=stream #1 per-fd -> EIO");
  EXPECT_EQ(mux.faulted(), "context:hop");
  const fault_point& up = by_key.at("recv@channel self=context:hop peer=mux phase=stream #2");
  EXPECT_TRUE(up.in_context());
  EXPECT_FALSE(up.in_worker());
  EXPECT_EQ(up.rule("EIO"), "recv@channel self=context:hop peer=mux phase=stream #2 per-fd -> EIO");
  EXPECT_EQ(up.faulted(), "context:hop");
  const fault_point& down =
      by_key.at("sendmsg@channel self=context:hop peer=context:leaf phase=stream #1");
  EXPECT_TRUE(down.to_child);
  EXPECT_EQ(down.faulted(), "context:leaf");
  const fault_point& leaf =
      by_key.at("recv@channel self=context:leaf peer=context:hop phase=stream #3");
  EXPECT_FALSE(leaf.to_child);
  EXPECT_EQ(leaf.faulted(), "context:leaf");
  for (const auto& [k, p] : by_key) {
    EXPECT_EQ(p.index(), -1) << k;
    EXPECT_EQ(p.class_key(), k);
    for (const auto& fx : effects_for(p)) {
      faults::rule r;
      auto error = faults::parse_rule(p.rule(fx.name), r);
      ASSERT_FALSE(error) << p.rule(fx.name) << ": " << (error ? error->message : "");
      // The mux's rule is kept by the mux (no self=), a context's by that context only.
      if (!p.in_context()) {
        EXPECT_TRUE(r.self.empty());
        continue;
      }
      EXPECT_EQ(faults::self_matches(r, "context:hop"), p.peer == "context:hop");
      EXPECT_FALSE(faults::self_matches(r, "context:other"));
    }
  }
  // Contexts named like indexes are still each their own class.
  auto classes = collapse({{"mux", "recv", "channel", "context:3", "stream", 1},
                           {"mux", "recv", "channel", "context:4", "stream", 1}});
  EXPECT_EQ(classes.size(), 2u);
}

scenario two_contexts(const std::string& cls, const std::string& peer) {
  scenario s = parse_scenario(R"(name = "t"
description = "d"
origin = "o"
contexts = ["a", "b"]
)" + test::context_call_groups(3),
                              "t.toml");
  s.expect.fault_class = cls;
  s.expect.faulted_peer = peer;
  s.expect.faults_fired = false;
  return s;
}

run_outcome contexts_outcome() {
  run_outcome o;
  o.processes = {{"mux", "", 10, 0}, {"worker-ca-0", "ca", 30, 0}, {"worker-cb-0", "cb", 31, 0}};
  o.probe_ok = true;
  return o;
}

// Contexts a (pid 40, id 3) and b (pid 41, id 4) started; ca's calls go to
// a and fail (`ca_failed`), cb's to b.
timeline contexts_run(int ca_failed) {
  timeline tl{child_start("mux", 10, "a", 40),
              ev(0.02, 10, "mux", {{"event", "stream_open"}, {"stream", "a"}, {"context_id", 3}}),
              child_start("mux", 10, "b", 41),
              ev(0.02, 10, "mux", {{"event", "stream_open"}, {"stream", "b"}, {"context_id", 4}})};
  tl.push_back(ev(0.1, 30, "w", {{"event", "connected"}, {"context_id", 1}}));
  tl.push_back(ev(0.1, 31, "w", {{"event", "connected"}, {"context_id", 2}}));
  tl.push_back(ev(0.2, 30, "w", {{"event", "workload_done"}, {"count", 3}, {"failed", ca_failed}}));
  tl.push_back(ev(0.2, 31, "w", {{"event", "workload_done"}, {"count", 3}, {"failed", 0}}));
  return tl;
}

timeline_event mux_line(pid_t pid, const std::string& msg) {
  return ev(0.15, pid, "mux", {{"event", "log"}, {"level", "error"}, {"msg", msg}});
}

// A hard fault on a channel costs that context and the calls routed to it,
// logged; naming the other context instead, the same run is a violation.
TEST(SingleFaultOracles, AHardFaultOnAChannelCostsOnlyThatContext) {
  timeline tl = contexts_run(3);
  tl.push_back(
      ev(0.15, 10, "mux",
         {{"event", "disconnect"}, {"stream", "a"}, {"why", "recv failed"}, {"errno", "EIO"}}));
  tl.push_back(ev(0.16, 10, "mux",
                  {{"event", "dead"},
                   {"reason", "the respondent Context has disconnected"},
                   {"dst", 1},
                   {"respondent", 3}}));
  timeline logged = tl;
  logged.push_back(mux_line(10, "stream a: recv failed: EIO: disconnecting"));
  auto rs = judge_single_fault(two_contexts("hard", "context:a"), logged, contexts_outcome());
  EXPECT_EQ(named(rs, "contained").v, verdict::pass) << named(rs, "contained").evidence[0];
  EXPECT_EQ(named(rs, "others intact").v, verdict::pass);
  // Unlogged, the loss is not contained.
  EXPECT_EQ(named(judge_single_fault(two_contexts("hard", "context:a"), tl, contexts_outcome()),
                  "contained")
                .v,
            verdict::fail);
  // Judged as b's fault: a's stream and ca's calls were untouched.
  auto wrong = judge_single_fault(two_contexts("hard", "context:b"), logged, contexts_outcome());
  EXPECT_EQ(named(wrong, "contained").v, verdict::fail);
  EXPECT_EQ(named(wrong, "others intact").v, verdict::fail);
  // A transient fault may cost nothing at all.
  auto transient =
      judge_single_fault(two_contexts("transient", "context:a"), logged, contexts_outcome());
  EXPECT_EQ(named(transient, "invisible").v, verdict::fail);
  EXPECT_EQ(named(transient, "others intact").v, verdict::fail);
}

// The context's own call failed: it drops its stream to the mux and logs
// it; the mux then sees the channel end.
TEST(SingleFaultOracles, AContextsOwnHardFaultIsContainedAndLoggedByIt) {
  timeline tl = contexts_run(2);
  tl.push_back(ev(0.15, 40, "mux",
                  {{"event", "disconnect"},
                   {"role", "context"},
                   {"stream", "parent"},
                   {"why", "recv failed"},
                   {"errno", "EIO"}}));
  tl.push_back(ev(0.16, 10, "mux",
                  {{"event", "disconnect"}, {"stream", "a"}, {"why", "EOF"}, {"errno", ""}}));
  timeline logged = tl;
  logged.push_back(mux_line(40, "stream parent: recv failed: EIO: disconnecting"));
  auto rs = judge_single_fault(two_contexts("hard", "context:a"), logged, contexts_outcome());
  EXPECT_EQ(named(rs, "contained").v, verdict::pass) << named(rs, "contained").evidence[0];
  EXPECT_EQ(named(rs, "others intact").v, verdict::pass);
  EXPECT_EQ(named(judge_single_fault(two_contexts("hard", "context:a"), tl, contexts_outcome()),
                  "contained")
                .v,
            verdict::fail);
  // A context's line about its parent stream is its own, not another's.
  EXPECT_EQ(named(judge_single_fault(two_contexts("hard", "context:b"), logged, contexts_outcome()),
                  "contained")
                .v,
            verdict::fail);
}

// --- on real processes ---------------------------------------------------------------

scenario small_calls() {
  return parse_scenario(R"(name = "c"
description = "d"
origin = "o"
timeout_ms = 9000
contexts = ["a"]
[[workers]]
name = "ca"
count = 1
workload = "calls"
context = "a"
messages = 2
)",
                        "c.toml");
}

// The channel calls of the mux and of its context, seen in each of two runs.
std::vector<fault_point> stable_channel_points(const scenario& s, const driver_options& base) {
  std::set<std::string> first;
  std::vector<fault_point> out;
  for (int run = 0; run < 2; ++run) {
    scenario t = s;
    for (const auto& r : trace_rules(s)) {
      fault_spec f;
      f.rule = r;
      t.faults.push_back(f);
    }
    std::vector<fault_point> pts;
    driver_options d = base;
    d.observe = [&](const timeline& tl, const run_outcome&) { pts = traced_points(tl); };
    EXPECT_TRUE(run_scenario(t, 1, d).passed);
    for (const auto& p : pts) {
      if (p.fd_class != "channel") continue;
      if (run == 0) first.insert(p.key());
      if (run == 1 && first.count(p.key())) out.push_back(p);
    }
  }
  return out;
}

// Each traced call on a channel, the mux's and the context's, rebuilt into
// the rule explore writes for it, fires exactly once, on that call.
TEST(ExploreChannelCalls, EachTracedCallIsHitExactlyOnceByItsRule) {
  driver_options d;
  d.self = test::binary();
  const scenario s = small_calls();
  std::vector<fault_point> pts = stable_channel_points(s, d);
  std::set<std::string> roles;
  for (const auto& p : pts) roles.insert(p.role + " " + p.faulted());
  EXPECT_EQ(roles, (std::set<std::string>{"mux context:a", "context context:a"}));
  EXPECT_GE(pts.size(), 8u) << "recvs and sends at both ends";
  for (const auto& p : pts) {
    scenario one = s;
    fault_spec f;
    f.rule = p.rule("trace");
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
