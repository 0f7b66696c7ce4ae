// Contexts through a real `faultmux mux` and its faultmux.ContextService with
// `faultmux worker` processes: what a pending call sees when a context (or
// one on the way, or the mux) dies: SIGKILL, exit(), crash(); oversized
// arguments and results.

#include <gtest/gtest.h>

#include "tests/support/context_fixture.hpp"

namespace faultmux {
namespace {

// --- a real mux, its ContextService and workers ---------------------------------

struct worker_run {
  child_process proc;
  std::string events, stderr_path;
};

worker_run start_call_worker(const run_dir& dir, const std::string& socket, const std::string& tag,
                             const std::string& context, const std::string& function, int count,
                             std::size_t size, int in_flight) {
  worker_run w;
  w.events = dir.file(tag + ".events");
  w.stderr_path = dir.file(tag + ".stderr");
  w.proc = test::spawn_logged(
      {test::binary(), "worker", "--connect", socket, "--context", context, "--function", function,
       "--count", std::to_string(count), "--size", std::to_string(size), "--in-flight",
       std::to_string(in_flight), "--events", w.events},
      w.stderr_path);
  return w;
}

// Reads the worker's stdout up to "target_context=ID": the id.
std::optional<std::uint32_t> read_target(worker_run& w, ms timeout = 30s) {
  auto end = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<ms>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto line = w.proc.read_line(left);
    if (!line) return std::nullopt;
    if (line->starts_with("target_context="))
      return static_cast<std::uint32_t>(std::stoul(line->substr(15)));
  }
}

// "target_context=ID", then "done ok=.. failed=..": the id and the done line.
std::pair<std::optional<std::uint32_t>, std::string> worker_result(worker_run& w,
                                                                   ms timeout = 30s) {
  std::optional<std::uint32_t> target;
  std::string done;
  auto end = std::chrono::steady_clock::now() + timeout;
  while (done.empty()) {
    auto left = std::chrono::duration_cast<ms>(end - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    auto line = w.proc.read_line(left);
    if (!line) break;
    if (line->starts_with("target_context="))
      target = static_cast<std::uint32_t>(std::stoul(line->substr(15)));
    if (line->starts_with("done ")) done = *line;
  }
  return {target, done};
}

TEST_F(contexts, worker_calls_each_builtin_in_the_context_the_service_gives) {
  test::mux_process mux(dir_);
  std::optional<std::uint32_t> target;
  const std::vector<std::pair<std::string, std::size_t>> runs{
      {"echo", 64},  {"echo", 1 << 20}, {"checksum", 4096}, {"make_bytes", 100000},
      {"getpid", 0}, {"sleep", 5},      {"caller_ids", 0}};
  int i = 0;
  for (const auto& [fn, size] : runs) {
    auto w =
        start_call_worker(dir_, mux.socket_path(), "w" + std::to_string(i++), "x", fn, 20, size, 4);
    auto [id, done] = worker_result(w);
    auto st = w.proc.wait(10s);
    EXPECT_TRUE(exited_with(st, 0)) << fn << ": " << done << "\n" << test::slurp(w.stderr_path);
    EXPECT_TRUE(done.starts_with("done ok=20 failed=0")) << fn << ": " << done;
    ASSERT_TRUE(id) << fn;
    if (target) {
      EXPECT_EQ(*id, *target) << "a later get gave another context";
    }
    target = id;
    auto calls = events_named(w.events, "call");
    EXPECT_EQ(calls.size(), 20u);
    for (const auto& c : calls) EXPECT_EQ(c.value("outcome", ""), "result") << c.dump();
  }
  EXPECT_EQ(mux.events("child_start").size(), 1u) << "x was started more than once";
  stop_mux(mux);
}

TEST_F(contexts, killing_the_target_ends_a_workers_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  auto w = start_call_worker(dir_, mux.socket_path(), "worker", "x", "sleep", 3, 20000, 3);
  ASSERT_TRUE(read_target(w)) << test::slurp(w.stderr_path);
  auto pid = pid_of_child(mux.events_path(), "x");
  ASSERT_TRUE(pid);
  // x logs (at debug, forwarded to the mux) when it starts running a call.
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "x: faultmux: calling faultmux.builtins.sleep"))
      << mux.stderr_text();

  double killed_at = events::now();
  ASSERT_EQ(::kill(*pid, SIGKILL), 0);
  auto st = w.proc.wait(10s);
  EXPECT_TRUE(exited_with(st, 1)) << (st ? describe_status(*st) : "still running");
  auto calls = events_named(w.events, "call");
  ASSERT_EQ(calls.size(), 3u) << test::slurp(w.stderr_path);
  for (const auto& c : calls) {
    EXPECT_EQ(c.value("outcome", ""), "disconnected") << c.dump();
    EXPECT_EQ(c.value("error", ""), disconnected) << c.dump();
    EXPECT_LT(c.value("t", 0.0) - killed_at, end_within_s) << c.dump();
  }
  // The mux saw x go and says so.
  auto gone = mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_exit" && e.value("child", "") == "x";
      },
      5s);
  ASSERT_TRUE(gone);
  EXPECT_TRUE(WIFSIGNALED((*gone)["status"].get<int>()));
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           fmt::format("x: PID {} killed by signal 9", *pid)));
  stop_mux(mux);
}

// worker -> mux -> x: the mux is the hop on the way. Killing it ends the
// worker's pending calls at once, and x, whose parent is gone, exits.
TEST_F(contexts, killing_the_mux_ends_a_workers_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  auto w = start_call_worker(dir_, mux.socket_path(), "worker", "x", "sleep", 3, 20000, 3);
  ASSERT_TRUE(read_target(w)) << test::slurp(w.stderr_path);
  auto pid = pid_of_child(mux.events_path(), "x");
  ASSERT_TRUE(pid);
  ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "x: faultmux: calling faultmux.builtins.sleep"))
      << mux.stderr_text();

  double killed_at = events::now();
  mux.proc().signal(SIGKILL);
  auto st = w.proc.wait(10s);
  EXPECT_TRUE(exited_with(st, 1)) << (st ? describe_status(*st) : "still running");
  auto calls = events_named(w.events, "call");
  ASSERT_EQ(calls.size(), 3u) << test::slurp(w.stderr_path);
  for (const auto& c : calls) {
    EXPECT_EQ(c.value("outcome", ""), "disconnected") << c.dump();
    EXPECT_EQ(c.value("error", ""), disconnected) << c.dump();
    EXPECT_LT(c.value("t", 0.0) - killed_at, end_within_s) << c.dump();
  }
  EXPECT_TRUE(eventually([&] { return process_gone(*pid); }, 5s)) << "x outlived the mux";
}

// worker -> mux -> a -> b: killing a (on the way) or b (the target) ends
// the pending calls at once, and b does not outlive a.
TEST_F(contexts, killing_a_context_on_the_way_or_the_grandchild_ends_pending_calls_at_once) {
  test::mux_process mux(dir_, {"-v"});
  for (bool kill_middle : {true, false}) {
    SCOPED_TRACE(kill_middle ? "killing a (on the way)" : "killing b (the target)");
    client_node c(mux.socket_path());
    const std::string an = kill_middle ? "a1" : "a2", bn = kill_middle ? "b1" : "b2";
    std::uint32_t a = c.context(an);
    auto b_id = c.call(a, "start_child", {pickle::text{bn}});
    ASSERT_TRUE(b_id.is<std::int64_t>()) << pickle::to_string(b_id);
    auto b = static_cast<std::uint32_t>(*b_id.get<std::int64_t>());
    auto a_pid = pid_of_child(mux.events_path(), an), b_pid = pid_of_child(mux.events_path(), bn);
    ASSERT_TRUE(a_pid && b_pid);

    // Straight to b through the routes, and through a's call_child.
    auto direct = c.start(b, "sleep", {20000});
    ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             bn + ": faultmux: calling faultmux.builtins.sleep"));
    auto via =
        c.start(a, "call_child",
                {static_cast<std::int64_t>(b), pickle::text{"sleep"}, pickle::tuple{{20000}}});
    ASSERT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             an + ": faultmux: calling faultmux.builtins.call_child"));

    double killed_at = events::now();
    ASSERT_EQ(::kill(kill_middle ? *a_pid : *b_pid, SIGKILL), 0);
    auto d = direct->wait(5s);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->what, call_outcome::kind::dead) << describe(d);
    EXPECT_EQ(d->error, disconnected);
    EXPECT_LT(direct->at - killed_at, end_within_s);
    auto v = via->wait(5s);
    ASSERT_TRUE(v);
    EXPECT_LT(via->at - killed_at, end_within_s);
    if (kill_middle) {
      // a itself is gone: the call into it is dead.
      EXPECT_EQ(v->what, call_outcome::kind::dead) << describe(v);
      EXPECT_EQ(v->error, disconnected);
    } else {
      // a lives and answers: its own call into b ended, which it reports.
      EXPECT_EQ(v->what, call_outcome::kind::remote_error) << describe(v);
      EXPECT_NE(v->error.find(disconnected), std::string::npos) << v->error;
      EXPECT_EQ(c.call(a, "echo", {pickle::text{"a lives"}}), pickle::value("a lives"));
    }
    // b never outlives its parent, and nobody waits on a dead context.
    if (kill_middle) {
      EXPECT_TRUE(eventually([&] { return process_gone(*b_pid); }, 5s));
    }
    try {
      c.call(b, "echo", {1}, 5s);
      ADD_FAILURE() << "a call into the dead b was answered";
    } catch (const channel_error& e) {
      EXPECT_NE(std::string(e.what()).find("no route to"), std::string::npos) << e.what();
    }
  }
  stop_mux(mux);
}

TEST_F(contexts, exit_and_crash_end_pending_calls_and_the_mux_logs_the_exit) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  struct how {
    std::string name, fn;
    std::vector<pickle::value> args;
    std::string logged;
  };
  for (const how& h : {how{"exits", "exit", {7}, "exited with status 7"},
                       how{"crashes", "crash", {}, fmt::format("killed by signal {}", SIGABRT)}}) {
    SCOPED_TRACE(h.fn);
    std::uint32_t x = c.context(h.name);
    auto pid = pid_of_child(mux.events_path(), h.name);
    ASSERT_TRUE(pid);
    // The fatal call, and two more queued behind it in x.
    std::vector<std::shared_ptr<pending_call>> calls{
        c.start(x, h.fn, h.args), c.start(x, "echo", {1}), c.start(x, "echo", {2})};
    // The fatal call ends with its respondent. The two behind it may reach
    // the mux after x's route is gone (a busy machine): then "no route" is
    // the right answer, as it is to any message for a context that is gone.
    for (std::size_t i = 0; i < calls.size(); ++i) {
      auto o = calls[i]->wait(5s);
      ASSERT_TRUE(o);
      EXPECT_EQ(o->what, call_outcome::kind::dead) << describe(o);
      if (i == 0 || o->error.find("no route to") == std::string::npos) {
        EXPECT_EQ(o->error, disconnected);
      }
    }
    EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                             fmt::format("{}: PID {} {}", h.name, *pid, h.logged)))
        << mux.stderr_text();
    auto gone = mux.wait_event(
        [&](const json& e) {
          return e.value("event", "") == "child_exit" && e.value("child", "") == h.name;
        },
        5s);
    ASSERT_TRUE(gone);
    int status = (*gone)["status"].get<int>();
    if (h.fn == "exit")
      EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << status;
    else
      EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) << status;
    // The last calls ended at the child's death, not later.
    for (auto& p : calls) EXPECT_LT(p->at - gone->value("t", 0.0), end_within_s);
  }
  // exit() warns before it goes; the record is re-emitted under x's name.
  EXPECT_TRUE(text_appears([&] { return mux.stderr_text(); },
                           "exits: faultmux: exit(7) called: exiting now"));
  stop_mux(mux);
}

// exit() sends what it logged before it goes: a record larger than the
// socket's buffer, logged while the mux is stopped and so cannot read, still
// reaches the mux whole once it runs again, and the exit's own warning after it.
TEST_F(contexts, exit_sends_the_records_logged_before_it) {
  test::mux_process mux(dir_);
  client_node c(mux.socket_path());
  std::uint32_t x = c.context("burst");
  const std::string big = std::string(4 << 20, 'a') + " end of the burst";
  // The three calls reach x at once; x runs them in order, after the sleep.
  auto slept = c.start(x, "sleep", {std::int64_t{300}});
  auto logged = c.start(x, "log", {std::int64_t{30}, pickle::text{big}});
  auto exited = c.start(x, "exit", {7});
  std::this_thread::sleep_for(100ms);
  ASSERT_EQ(::kill(mux.pid(), SIGSTOP), 0);
  std::this_thread::sleep_for(500ms);  // x logs and exits meanwhile, within its 1 s
  ASSERT_EQ(::kill(mux.pid(), SIGCONT), 0);
  for (auto* p : {&slept, &logged, &exited}) ASSERT_TRUE((*p)->wait(5s));
  auto has = [&](const std::string& text) {
    return text_appears([&] { return mux.stderr_text(); }, text);
  };
  EXPECT_TRUE(has("a end of the burst"));
  EXPECT_TRUE(has("burst: faultmux: exit(7) called: exiting now"));
  stop_mux(mux);
}

TEST_F(contexts, context_service_starts_each_name_once_and_again_after_it_died) {
  test::mux_process mux(dir_);
  auto starts = [&](const std::string& name) {
    std::size_t n = 0;
    for (const auto& e : mux.events("child_start")) n += e.value("child", "") == name;
    return n;
  };
  // Workers asking for one name at the same time get one context.
  std::vector<worker_run> workers;
  for (int i = 0; i < 6; ++i)
    workers.push_back(start_call_worker(dir_, mux.socket_path(), "w" + std::to_string(i), "y",
                                        "getpid", 1, 0, 1));
  std::set<std::uint32_t> ids;
  for (auto& w : workers) {
    auto [id, done] = worker_result(w);
    ASSERT_TRUE(id) << test::slurp(w.stderr_path);
    EXPECT_TRUE(done.starts_with("done ok=1 failed=0")) << done;
    ids.insert(*id);
    EXPECT_TRUE(exited_with(w.proc.wait(10s), 0));
  }
  EXPECT_EQ(ids.size(), 1u);
  EXPECT_EQ(starts("y"), 1u);

  // So do many requests from one client at once.
  client_node c(mux.socket_path());
  std::vector<std::future<std::uint32_t>> gets;
  for (int i = 0; i < 8; ++i)
    gets.push_back(std::async(std::launch::async, [&] { return c.context("z"); }));
  std::set<std::uint32_t> zs;
  for (auto& g : gets) zs.insert(g.get());
  EXPECT_EQ(zs.size(), 1u);
  EXPECT_EQ(starts("z"), 1u);

  // Later requests get the same context, while it lives.
  const std::uint32_t y = *ids.begin();
  EXPECT_EQ(c.context("y"), y);
  EXPECT_EQ(starts("y"), 1u);

  // After it died, a fresh one.
  auto old_pid = pid_of_child(mux.events_path(), "y");
  ASSERT_TRUE(old_pid);
  ASSERT_EQ(::kill(*old_pid, SIGKILL), 0);
  ASSERT_TRUE(mux.wait_event(
      [&](const json& e) {
        return e.value("event", "") == "child_exit" && e.value("child", "") == "y";
      },
      5s));
  std::uint32_t fresh = 0;
  // The route to y may outlive the process by a moment; the service answers
  // from what it knows, so ask until the answer is the new context.
  ASSERT_TRUE(eventually([&] { return (fresh = c.context("y")) != y; }, 5s));
  EXPECT_EQ(starts("y"), 2u);
  auto got_pid = c.call(fresh, "getpid");
  EXPECT_NE(got_pid, pickle::value(*old_pid));

  // Wrong requests are refused with a CallError, not ignored.
  for (const auto& [body, want] : std::vector<std::pair<std::string, std::string>>{
           {service_request("start", pickle::kwargs{{{pickle::text{"name"}, pickle::text{"q"}}}}),
            "has no method start"},
           {service_request("get", pickle::kwargs{}), "needs name=<str>"},
           {*pickle::encode(pickle::tuple{
                {pickle::text{"other.Service"}, pickle::text{"get"}, pickle::kwargs{}}}),
            "no service other.Service"}}) {
    message reply = c.service(body);
    auto v = pickle::decode(reply.data);
    ASSERT_TRUE(v && v->is<pickle::call_error>()) << reply.data;
    EXPECT_NE(v->get<pickle::call_error>()->message.find(want), std::string::npos)
        << v->get<pickle::call_error>()->message;
  }
  stop_mux(mux);
}

// A request or a result over the size limit is never delivered: the call
// ends at once with a dead reply, and the context serves on.
TEST_F(contexts, oversized_arguments_and_results_end_the_call_with_a_dead_reply) {
  constexpr std::int64_t limit = 1 << 20;
  test::mux_process mux(dir_, {"--max-message-size", std::to_string(limit)});
  const std::string too_large = fmt::format("message too large (max {} bytes)", limit);
  auto outcome_of = [&](client_node& c, std::uint32_t x, const std::string& fn,
                        std::vector<pickle::value> args) {
    auto o = c.start(x, fn, std::move(args))->wait(30s);
    if (!o) return std::string("no outcome within 30 s");
    return o->what == call_outcome::kind::dead ? o->error : "not dead: " + describe(o);
  };
  {
    // A caller configured with the mux's limit: its own router refuses.
    client_node c(mux.socket_path(), limit);
    std::uint32_t x = c.context("x");
    // The result: x's router refuses to send it.
    EXPECT_EQ(outcome_of(c, x, "make_bytes", {2 * limit}), too_large);
    EXPECT_EQ(outcome_of(c, x, "echo", {pickle::bytes{std::string(2 * limit, 'a')}}), too_large);
    // Just under the limit still works, both ways.
    auto fits = pickle::bytes{std::string(limit - 200, 'b')};
    EXPECT_EQ(c.call(x, "echo", {fits}), pickle::value(fits));
  }
  {
    // A caller that sends the frame anyway: the mux cuts that connection
    // (Mitogen's rule for an oversized frame) and the call ends with it.
    client_node c(mux.socket_path());
    std::uint32_t x = c.context("x");
    EXPECT_EQ(outcome_of(c, x, "echo", {pickle::bytes{std::string(2 * limit, 'a')}}), disconnected);
    EXPECT_TRUE(text_appears(
        [&] { return mux.stderr_text(); },
        fmt::format("Maximum message size exceeded (got {}, max {})", 2 * limit + 97, limit)))
        << mux.stderr_text();
  }
  client_node c(mux.socket_path());
  EXPECT_EQ(c.call(c.context("x"), "echo", {1}), pickle::value(1));
  EXPECT_EQ(mux.events("child_start").size(), 1u);
  stop_mux(mux);
}

}  // namespace
}  // namespace faultmux
