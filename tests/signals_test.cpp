// Signals during the mux's shutdown, through a real `faultmux mux` with
// contexts running calls: a second SIGTERM or SIGINT only shortens the grace
// period (the mux still exits by itself, status 0, its socket file removed and
// its contexts reaped), and SIGHUP is a graceful shutdown like SIGTERM.

#include <gtest/gtest.h>

#include "tests/support/context_fixture.hpp"

namespace faultmux {
namespace {

// A mux whose two contexts each run a long sleep() for a client: the
// shutdown has contexts to end and calls in flight when the signals come.
struct busy_mux {
  busy_mux(const run_dir& dir, int i, int grace_ms) {
    test::mux_config cfg;
    cfg.name = "mux" + std::to_string(i);
    mux.emplace(
        dir, std::vector<std::string>{"-v", "--shutdown-grace-ms", std::to_string(grace_ms)}, cfg);
    client.emplace(mux->socket_path());
    for (const char* name : {"a", "b"}) {
      std::uint32_t id = client->context(name);
      calls.push_back(client->start(id, "sleep", {std::int64_t{60000}}));
    }
    const std::string running = "faultmux: calling faultmux.builtins.sleep";
    started = eventually([&] { return count_of(mux->stderr_text(), running) == 2; }, 10s);
  }
  std::optional<pid_t> context_pid(const std::string& name) {
    return pid_of_child(mux->events_path(), name);
  }

  std::optional<test::mux_process> mux;
  std::optional<client_node> client;
  std::vector<std::shared_ptr<pending_call>> calls;
  bool started = false;
};

// What every way of ending the mux must leave: a status-0 exit of its own,
// the socket file gone, each context reaped by the mux itself (its child_exit
// event) and each pending call ended.
void expect_clean_end(busy_mux& m, const std::string& what, std::chrono::milliseconds within) {
  auto started = std::chrono::steady_clock::now();
  auto st = m.mux->proc().wait(20s);
  auto took = std::chrono::duration_cast<ms>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(st) << what << ": the mux did not exit\n" << m.mux->stderr_text();
  EXPECT_FALSE(WIFSIGNALED(*st)) << what << ": " << describe_status(*st) << "\n"
                                 << m.mux->stderr_text();
  EXPECT_TRUE(exited_with(st, 0)) << what << ": " << describe_status(*st);
  EXPECT_LT(took, within) << what << ": the exit took the whole grace period";
  EXPECT_NE(::access(m.mux->socket_path().c_str(), F_OK), 0) << what << ": socket file left";
  for (const char* name : {"a", "b"}) {
    auto pid = m.context_pid(name);
    ASSERT_TRUE(pid) << what << ": no child_start for " << name;
    bool reaped = false;
    for (const auto& e : m.mux->events("child_exit"))
      reaped = reaped || e.value("child", "") == name;
    EXPECT_TRUE(reaped) << what << ": the mux exited before it reaped context " << name;
    EXPECT_TRUE(eventually([&] { return process_gone(*pid); }, 5s))
        << what << ": context " << name << " outlived the mux";
  }
  for (auto& c : m.calls) {
    auto out = c->wait(5s);
    ASSERT_TRUE(out) << what << ": a pending call never ended";
    EXPECT_NE(out->what, call_outcome::kind::result) << what << ": " << describe(out);
  }
}

class mux_signals : public contexts {};

TEST_F(mux_signals, a_second_signal_during_shutdown_only_shortens_the_grace) {
  // The grace is long: a mux that waited it out would fail the time bound,
  // so the second signal is seen to shorten it.
  const int grace_ms = 30000;
  const int gaps_ms[] = {0, 0, 1, 3, 5};
  for (int i = 0; i < 20; ++i) {
    const int second = i % 2 ? SIGINT : SIGTERM;
    const int gap = gaps_ms[i % 5];
    const std::string what =
        fmt::format("run {}: SIGTERM then signal {} after {} ms", i, second, gap);
    busy_mux m(dir_, i, grace_ms);
    ASSERT_TRUE(m.started) << what << ": the calls did not start\n" << m.mux->stderr_text();
    m.mux->proc().signal(SIGTERM);
    if (gap) std::this_thread::sleep_for(ms(gap));
    m.mux->proc().signal(second);
    expect_clean_end(m, what, 15s);
    if (HasFatalFailure() || HasNonfatalFailure()) break;
  }
}

TEST_F(mux_signals, sighup_is_a_graceful_shutdown) {
  busy_mux m(dir_, 0, 30000);
  ASSERT_TRUE(m.started) << m.mux->stderr_text();
  m.mux->proc().signal(SIGHUP);
  expect_clean_end(m, "SIGHUP", 15s);
  EXPECT_TRUE(text_appears([&] { return m.mux->stderr_text(); }, "signal 1: shutting down"))
      << m.mux->stderr_text();
}

TEST_F(mux_signals, sighup_during_a_sigterm_shutdown_only_shortens_the_grace) {
  busy_mux m(dir_, 0, 30000);
  ASSERT_TRUE(m.started) << m.mux->stderr_text();
  m.mux->proc().signal(SIGTERM);
  m.mux->proc().signal(SIGHUP);
  expect_clean_end(m, "SIGTERM then SIGHUP", 15s);
}

}  // namespace
}  // namespace faultmux
