// The broker's loop as other threads see it: work handed over at full rate
// while the loop is slowed, and work handed over as it exits or after.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mux/broker.hpp"
#include "mux/call.hpp"
#include "mux/node.hpp"

namespace faultmux {
namespace {

call_spec echo_call() {
  call_spec spec;
  spec.context_id = 7;
  spec.function = "echo";
  return spec;
}

using namespace std::chrono_literals;

// Another thread defers 100000 tasks while the loop sleeps in one of its
// own: every task runs, in the order given (a waker that is already set
// counts as woken; nothing is dropped).
TEST(broker, work_handed_over_at_full_rate_to_a_slowed_loop_all_runs_in_order) {
  broker b;
  b.start();
  constexpr int n = 100000;
  std::vector<int> ran;
  ran.reserve(n);
  std::atomic<bool> done{false};
  b.defer([] { std::this_thread::sleep_for(200ms); });
  std::thread sender([&] {
    for (int i = 0; i < n; ++i) EXPECT_TRUE(b.defer([&ran, i] { ran.push_back(i); }));
    b.defer([&] { done = true; });
  });
  sender.join();
  const auto end = std::chrono::steady_clock::now() + 30s;
  while (!done && std::chrono::steady_clock::now() < end) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(done);
  ASSERT_EQ(ran.size(), static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) ASSERT_EQ(ran[static_cast<std::size_t>(i)], i);
}

// Once the loop has exited, defer says so and drops the work, rather than
// queueing what would never run; before the loop starts it queues.
TEST(broker, work_handed_over_after_the_loop_exited_is_refused) {
  broker b;
  bool ran_before_start = false;
  EXPECT_TRUE(b.defer([&] { ran_before_start = true; }));
  EXPECT_FALSE(*b.exited());
  b.start();
  b.defer([&] { b.stop(); });
  b.join();
  EXPECT_TRUE(ran_before_start);
  EXPECT_TRUE(*b.exited());
  bool ran_after = false;
  EXPECT_FALSE(b.defer([&] { ran_after = true; }));
  EXPECT_FALSE(ran_after);
}

// A call made once the caller's loop has exited, or queued as it exits,
// fails at once with the reason instead of waiting out its deadline.
TEST(broker, a_call_after_or_racing_the_loops_exit_fails_at_once) {
  for (bool racing : {false, true}) {
    node n(node_config{});
    caller c(n);
    n.get_broker().start();
    std::vector<call_receiver> calls;
    if (racing) {
      n.get_broker().stop();
      for (int i = 0; i < 50; ++i) calls.push_back(c.call_async(echo_call()));
      n.get_broker().join();
    } else {
      n.get_broker().stop();
      n.get_broker().join();
      calls.push_back(c.call_async(echo_call()));
    }
    const auto t0 = std::chrono::steady_clock::now();
    int refused = 0;
    for (auto& rx : calls) {
      // A call the loop still took ends as its router answers it (no route
      // to context 7); the rest say the loop has exited.
      call_outcome o = rx.wait(10s);
      EXPECT_EQ(o.what, call_outcome::kind::dead) << o.error;
      refused += o.error.find("loop has exited") != std::string::npos;
    }
    EXPECT_GE(refused, 1);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s) << (racing ? "racing" : "after");
  }
}

}  // namespace
}  // namespace faultmux
