// Judging a big run: the timeline index finds each process's events in
// timeline order, and the oracles and report rows built on it say of a run of
// hundreds of workers what they say of one (every worker judged, exactly the
// planted failures found, a pid never mistaken for a longer one).
#include <sys/wait.h>

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "harness/oracle_support.hpp"
#include "harness/oracles.hpp"
#include "harness/report_timeline.hpp"
#include "harness/timeline.hpp"
#include "tests/support/timeline_events.hpp"

namespace faultmux {
namespace {

using test::ev;
using json = nlohmann::json;

std::vector<std::string> sources(const timeline_index::events& list) {
  std::vector<std::string> out;
  for (const timeline_event* e : list) out.push_back(e->source + "@" + std::to_string(e->t));
  return out;
}

TEST(TimelineIndex, ListsEachKeyInTimelineOrder) {
  timeline tl{ev(1.0, "mux", {{"pid", 10}, {"event", "listening"}}),
              ev(1.1, "w-12", {{"pid", 12}, {"event", "connected"}}),
              ev(1.2, "mux", {{"pid", 12}, {"event", "handshake"}}),
              ev(1.3, "w-123", {{"pid", 123}, {"event", "connected"}}),
              ev(1.4, "w-12", {{"pid", 12}, {"event", "reply"}, {"seq", 0}}),
              ev(1.5, "mux", {{"pid", 10}, {"event", "disconnect"}, {"stream", "unix_client.12"}}),
              ev(1.6, "w-12", {{"pid", 12}, {"event", "reply"}, {"seq", 1}})};
  timeline_index ix(tl);
  EXPECT_EQ(&ix.all(), &tl);
  EXPECT_EQ(sources(ix.of_pid(12)), (std::vector<std::string>{"w-12@1.100000", "mux@1.200000",
                                                              "w-12@1.400000", "w-12@1.600000"}));
  EXPECT_EQ(sources(ix.of(12, "reply")),
            (std::vector<std::string>{"w-12@1.400000", "w-12@1.600000"}));
  EXPECT_EQ(sources(ix.named("connected")),
            (std::vector<std::string>{"w-12@1.100000", "w-123@1.300000"}));
  EXPECT_EQ(sources(ix.of_source("mux")),
            (std::vector<std::string>{"mux@1.000000", "mux@1.200000", "mux@1.500000"}));
  EXPECT_EQ(sources(ix.of_stream("unix_client.12")), (std::vector<std::string>{"mux@1.500000"}));
  EXPECT_TRUE(ix.of_stream("unix_client.123").empty());
  EXPECT_TRUE(ix.of(123, "reply").empty());
  EXPECT_TRUE(ix.named("nothing").empty());
  EXPECT_EQ(timeline_index::first(ix.of(12, "reply"))->num("seq"), 0);
  EXPECT_EQ(timeline_index::last(ix.of(12, "reply"))->num("seq"), 1);
  EXPECT_EQ(timeline_index::last(ix.of(99, "reply")), nullptr);
}

// Sorted by time; events at the same time keep the order they came in (the
// sources in file order), whatever the permutation: every cycle is followed.
TEST(SortTimeline, OrdersByTimeKeepingTiesInTheirOrder) {
  timeline tl;
  const double times[] = {3, 1, 2, 1, 3, 0, 2, 1, 5, 4, 0, 3};
  for (int i = 0; i < 12; ++i) tl.push_back(ev(times[i], "s" + std::to_string(i), {{"n", i}}));
  sort_timeline(tl);
  std::vector<int> got;
  for (const auto& e : tl) got.push_back(static_cast<int>(e.num("n")));
  EXPECT_EQ(got, (std::vector<int>{5, 10, 1, 3, 7, 2, 6, 0, 4, 11, 9, 8}));
  for (const auto& e : tl) EXPECT_EQ(e.source, "s" + std::to_string(e.num("n")));
  timeline empty;
  sort_timeline(empty);
  EXPECT_TRUE(empty.empty());
}

TEST(OracleSupport, NumbersAfterReadsWholeNumbers) {
  using oracle_support::numbers_after;
  EXPECT_EQ(numbers_after("stream unix_client.123: EOF", "unix_client."),
            (std::set<long long>{123}));
  EXPECT_EQ(numbers_after("unix_client.12 and unix_client.7", "unix_client."),
            (std::set<long long>{12, 7}));
  EXPECT_EQ(numbers_after("PID 012, PID , PID 5x", "PID "), (std::set<long long>{5}));
  EXPECT_EQ(numbers_after("from PID 0", "PID "), (std::set<long long>{0}));
  EXPECT_TRUE(numbers_after("unix_client.", "unix_client.").empty());
  EXPECT_TRUE(numbers_after("no pid here", "PID ").empty());
}

// A run of `n` echo workers (pids 1000 + i, one server), each with `replies`
// round trips, every one of them good unless the test plants a failure.
struct big_run {
  static constexpr pid_t mux_pid = 10, server_pid = 11;
  scenario s;
  timeline tl;
  run_outcome o;
  int n;

  big_run(int workers, int replies) : n(workers) {
    s = parse_scenario(
        "name = \"big\"\ndescription = \"d\"\norigin = \"o\"\ntimeout_ms = 5000\n"
        "[[workers]]\nname = \"servers\"\nworkload = \"serve\"\n"
        "[[workers]]\nname = \"good\"\ncount = " +
            std::to_string(workers) +
            "\nworkload = \"echo\"\npeer = \"servers\"\nmessages = " + std::to_string(replies) +
            "\n[expect]\nclean_exit = false\nresources = false\nlistener_alive = false\n",
        "big.toml");
    o.processes = {{"mux", "", mux_pid, 0}, {"worker-servers-0", "servers", server_pid, 0}};
    tl.push_back(ev(1.0, "driver", {{"pid", 1}, {"event", "spawn"}, {"name", "mux"}}));
    tl.push_back(ev(1.01, "worker-servers-0", {{"pid", server_pid}, {"event", "connected"}}));
    for (int i = 0; i < workers; ++i) {
      const pid_t pid = 1000 + i;
      const std::string name = "worker-good-" + std::to_string(i);
      o.processes.push_back({name, "good", pid, 0});
      const double t = 1.1 + i * 1e-4;
      tl.push_back(ev(t - 5e-5, "driver", {{"pid", 1}, {"event", "spawn"}, {"name", name}}));
      tl.push_back(ev(t, "mux", {{"pid", pid}, {"role", "mux"}, {"event", "handshake"}}));
      tl.push_back(ev(t, name, {{"pid", pid}, {"event", "connected"}}));
      for (int k = 0; k < replies; ++k)
        tl.push_back(ev(t + 0.001 * (k + 1), name,
                        {{"pid", pid},
                         {"role", "worker"},
                         {"event", "reply"},
                         {"seq", k},
                         {"outcome", "ok"},
                         {"ms", 0.5}}));
      tl.push_back(ev(2.0 + i * 1e-4, name,
                      {{"pid", pid},
                       {"event", "workload_done"},
                       {"count", replies},
                       {"ok", replies},
                       {"failed", 0}}));
    }
    tl.push_back(ev(3.0, "driver", {{"pid", 1}, {"event", "workers_stop"}}));
  }
  void add(timeline_event e) { tl.push_back(std::move(e)); }
  void disconnect(double t, pid_t pid, const std::string& why) {
    add(ev(t, "mux",
           {{"pid", mux_pid},
            {"role", "mux"},
            {"event", "disconnect"},
            {"stream", "unix_client." + std::to_string(pid)},
            {"why", why}}));
  }
  std::vector<oracle_result> judged() {
    sort_timeline(tl);
    return judge(s, tl, o);
  }
};

const oracle_result& named(const std::vector<oracle_result>& rs, const std::string& name) {
  for (const auto& r : rs)
    if (r.name == name) return r;
  throw std::runtime_error("no oracle " + name);
}

std::string evidence(const oracle_result& r) {
  std::string out;
  for (const auto& l : r.evidence) out += l + "\n";
  return out;
}

TEST(JudgingABigRun, EveryWorkerIsJudged) {
  big_run run(400, 30);
  for (int i = 0; i < run.n; ++i) run.disconnect(3.5, 1000 + i, "EOF");
  auto rs = run.judged();
  EXPECT_EQ(first_failure(rs), nullptr) << evidence(*first_failure(rs));
  EXPECT_EQ(named(rs, "nothing lost").evidence.at(0), "401 unaffected workers completed");
  EXPECT_EQ(named(rs, "disconnected groups").v, verdict::pass);
}

TEST(JudgingABigRun, FindsExactlyThePlantedFailures) {
  big_run run(400, 30);
  // Worker 123 (pid 1123) lost one reply: its workload_done says so.
  for (auto& e : run.tl)
    if (e.pid() == 1123 && e.event() == "workload_done") e.set("failed", 1);
  // pid 1300's stream went before its workload ended; pid 13's never existed.
  run.disconnect(1.5, 1300, "recv failed");
  run.disconnect(1.5, 13, "EOF");
  auto rs = run.judged();
  const oracle_result& lost = named(rs, "nothing lost");
  EXPECT_EQ(lost.v, verdict::fail);
  ASSERT_EQ(lost.evidence.size(), 1u) << evidence(lost);
  EXPECT_NE(lost.evidence[0].find("worker-good-123 (pid 1123): workload_done failed=1"),
            std::string::npos);
  const oracle_result& gone = named(rs, "disconnected groups");
  EXPECT_EQ(gone.v, verdict::fail);
  ASSERT_EQ(gone.evidence.size(), 1u) << evidence(gone);
  EXPECT_NE(gone.evidence[0].find("worker-good-300 (pid 1300"), std::string::npos);
}

TEST(JudgingABigRun, MuxLinesAboutLeavingWorkersAreExcusedByWholePid) {
  big_run run(300, 5);
  auto mux_error = [&](double t, const std::string& msg) {
    run.add(ev(t, "mux",
               {{"pid", big_run::mux_pid},
                {"role", "mux"},
                {"event", "log"},
                {"level", "error"},
                {"msg", msg}}));
  };
  // After workers_stop, about a worker: the teardown's. About pid 10000
  // (worker 1000's pid with a digit more): nobody's, so unexpected.
  mux_error(3.1, "stream unix_client.1042: send failed: EPIPE: disconnecting");
  mux_error(3.2, "stream unix_client.10000: send failed: EPIPE: disconnecting");
  // Before workers_stop even a worker's stream is unexpected.
  mux_error(2.5, "stream unix_client.1043: recv failed: ECONNRESET");
  auto rs = run.judged();
  const oracle_result& r = named(rs, "no unexpected errors");
  EXPECT_EQ(r.v, verdict::fail);
  const std::string text = evidence(r);
  EXPECT_NE(text.find("2 error line(s)"), std::string::npos) << text;
  EXPECT_NE(text.find("unix_client.10000"), std::string::npos) << text;
  EXPECT_NE(text.find("unix_client.1043"), std::string::npos) << text;
  EXPECT_EQ(text.find("unix_client.1042"), std::string::npos) << text;
}

TEST(ReportOfABigRun, EachWorkerRowHasItsOwnEventsAndTheMuxsAboutItsStream) {
  big_run run(300, 5);
  // Worker 0 is pid 1000; pid 10000 is nobody's, and its disconnect must not
  // show on worker 0's row.
  run.disconnect(1.5, 1000, "recv failed");
  run.disconnect(1.6, 10000, "EOF");
  run.add(ev(1.7, "driver",
             {{"pid", 1},
              {"event", "fault"},
              {"kind", "signal"},
              {"what", "SIGSTOP"},
              {"target_pid", 1001},
              {"fault", 0}}));
  sort_timeline(run.tl);
  traced_process mux{"mux", "", 0, big_run::mux_pid, false, 4.0, 0};
  std::vector<traced_process> ws;
  for (int i = 0; i < run.n; ++i)
    ws.push_back({"worker-good-" + std::to_string(i), "good", i, 1000 + i, false, 3.5, 0});
  report_limits limits;
  limits.max_rows = 1000;
  auto out = timeline_rows(run.tl, mux, ws, run.s.workers, limits);
  ASSERT_EQ(out.processes.size(), 301u);
  auto kinds = [](const reports::process_row& r) {
    std::vector<std::string> k;
    for (const auto& m : r.marks) k.push_back(m.kind);
    return k;
  };
  // spawn, handshake, connected, 5 round trips, the mux's disconnect, done, exit.
  EXPECT_EQ(kinds(out.processes[1]),
            (std::vector<std::string>{"spawn", "handshake", "connected", "call", "call", "call",
                                      "call", "call", "disconnect", "call", "exit"}));
  EXPECT_EQ(out.processes[1].outcome, "disconnected");
  EXPECT_EQ(kinds(out.processes[2]),
            (std::vector<std::string>{"spawn", "handshake", "connected", "call", "call", "call",
                                      "call", "call", "stopped", "call", "exit"}));
  EXPECT_EQ(out.processes[2].outcome, "ok");
  for (std::size_t i = 3; i < out.processes.size(); ++i)
    EXPECT_EQ(out.processes[i].marks.size(), 10u) << out.processes[i].name;
  ASSERT_EQ(out.groups.size(), 2u);
  EXPECT_EQ(out.groups[1].outcomes, (std::map<std::string, int>{{"ok", 299}, {"disconnected", 1}}));
}

// A worker of 1000 good round trips and one that failed: its row draws a
// sample of the good ones, evenly spread from the first, and keeps the
// failure and how it ended, within the row's cap.
TEST(ReportOfABigRun, AWorkersGoodRoundTripsAreSampledAndItsFailureKept) {
  big_run run(1, 1000);
  run.add(ev(1.1 + 0.5005, "worker-good-0",
             {{"pid", 1000},
              {"role", "worker"},
              {"event", "reply"},
              {"seq", 1000},
              {"outcome", "dead"},
              {"reason", "no route"}}));
  sort_timeline(run.tl);
  traced_process mux{"mux", "", 0, big_run::mux_pid, false, 4.0, 0};
  std::vector<traced_process> ws{{"worker-good-0", "good", 0, 1000, false, 3.5, 0}};
  report_limits limits;
  limits.max_marks = 20;
  auto out = timeline_rows(run.tl, mux, ws, run.s.workers, limits);
  ASSERT_EQ(out.processes.size(), 2u);
  const auto& marks = out.processes[1].marks;
  EXPECT_LE(marks.size(), 20u);
  std::vector<std::string> trips;
  bool failure = false, exit = false;
  for (const auto& m : marks) {
    if (m.text.starts_with("round trip ")) trips.push_back(m.text);
    failure = failure || (m.kind == "error" && m.text.find("reply 1000: dead") == 0);
    exit = exit || m.kind == "exit";
  }
  EXPECT_TRUE(failure);
  EXPECT_TRUE(exit);
  ASSERT_GE(trips.size(), 5u);
  EXPECT_EQ(trips.front(), "round trip 0 in 0.50 ms");
  EXPECT_NE(std::find(trips.begin(), trips.end(), "round trip 500 in 0.50 ms"), trips.end())
      << testing::PrintToString(trips);
}

}  // namespace
}  // namespace faultmux
