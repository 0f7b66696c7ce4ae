// The end of a mux, through a real `faultmux mux` process: a graceful
// shutdown that flushes what it can and force-closes what it cannot
// (scenario shutdown-with-clients), and a mux that dies under its workers
// (mux-killed-under-workers).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "mux/events.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/stream_support.hpp"
#include "wire/protocol.hpp"

namespace faultmux::test::streams {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t mib = 1024 * 1024;

bool exited_with(const std::optional<int>& st, int code) {
  return st && WIFEXITED(*st) && WEXITSTATUS(*st) == code;
}

TEST(mux_shutdown, sigterm_flushes_a_slow_reader_and_force_closes_a_stuck_one) {
  run_dir dir;
  const int grace_ms = 2000;
  mux_process mux(dir, {"--shutdown-grace-ms", std::to_string(grace_ms)});
  echo_worker echo = start_worker(mux.socket_path());
  raw_client slow = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  raw_client stuck = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  const std::string slow_body = pattern(11, 8 * mib), stuck_body = pattern(12, 8 * mib);
  ASSERT_TRUE(slow.send(to(echo.id, 1000, slow_body, 1100), 30s, false));
  ASSERT_TRUE(stuck.send(to(echo.id, 1000, stuck_body, 1101), 30s, false));
  // Both echoes have started to arrive: the mux holds the rest of each queued.
  ASSERT_TRUE(slow.wait_readable(30s));
  ASSERT_TRUE(stuck.wait_readable(30s));

  double term_at = events::now();
  mux.proc().signal(SIGTERM);
  // The slow reader takes 32 KiB at a time with a pause between reads
  // (pacing, not synchronisation): about half a second for 8 MiB, well
  // inside the grace period.
  std::optional<message> reply;
  auto give_up = std::chrono::steady_clock::now() + 10s;
  while (!reply && std::chrono::steady_clock::now() < give_up) {
    if (slow.read_some(32 * 1024, 1s) == 0 && slow.peer_closed()) break;
    reply = slow.take();
    std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(reply) << "the queued reply was not flushed to the slow reader";
  EXPECT_FALSE(reply->is_dead()) << reply->data;
  EXPECT_EQ(reply->handle, 1100u);
  EXPECT_TRUE(reply->data == slow_body)
      << "flushed reply differs (" << reply->data.size() << " bytes)";
  EXPECT_TRUE(slow.wait_closed(5s)) << "the mux did not close the flushed stream";

  auto st = mux.proc().wait(std::chrono::milliseconds(grace_ms) + 10s);
  EXPECT_TRUE(exited_with(st, 0)) << status_text(st);
  EXPECT_NE(::access(mux.socket_path().c_str(), F_OK), 0) << "socket file left behind";

  auto forced = mux.wait_event(problem_naming(stuck.stream_name(), {"force-closing"}), 1s);
  EXPECT_TRUE(forced) << "no error naming the stuck stream " << stuck.stream_name();
  auto stuck_gone = mux.wait_event(disconnect_of(stuck.stream_name()), 1s);
  ASSERT_TRUE(stuck_gone);
  EXPECT_EQ(str(*stuck_gone, "errno"), "ETIMEDOUT");
  EXPECT_GT((*stuck_gone)["dropped_bytes"].get<long>(), 0);
  double closed_after = stuck_gone->value("t", 0.0) - term_at;
  EXPECT_GT(closed_after, grace_ms / 1000.0 * 0.9)
      << "force-closed before the grace period was over";
  EXPECT_LT(closed_after, grace_ms / 1000.0 + 3.0) << "force-closed long after the grace period";

  auto slow_gone = mux.wait_event(disconnect_of(slow.stream_name()), 1s);
  ASSERT_TRUE(slow_gone);
  EXPECT_EQ(str(*slow_gone, "errno"), "");
  EXPECT_EQ((*slow_gone)["dropped_bytes"].get<long>(), 0);
  EXPECT_TRUE(mux.wait_event(
      [](const json& e) { return str(e, "event") == "exit" && e.value("code", -1) == 0; }, 1s));
  // The stuck stream is the only problem of this shutdown.
  for (const json& e : filter(mux.events(), is_problem_log))
    EXPECT_NE(str(e, "msg").find(stuck.stream_name() + ":"), std::string::npos) << e.dump();

  auto echo_st = echo.proc.wait(5s);
  EXPECT_TRUE(exited_with(echo_st, 0))
      << "echo worker after the mux shut down: " << status_text(echo_st);
}

TEST(mux_death, workers_see_eof_and_later_connects_fail_cleanly) {
  run_dir dir;
  mux_process mux(dir);
  std::vector<echo_worker> echoes;
  for (int i = 0; i < 3; ++i) echoes.push_back(start_worker(mux.socket_path()));
  // A worker whose workload waits on a peer that never answers: it has
  // requests outstanding when the mux goes, and many messages still to
  // send, which must not be sent into the void one by one (the worker once
  // recursed through them all and crashed).
  raw_client silent = raw_client::connect_as(mux.socket_path(), raw_client::fake_pid());
  std::string load_events = dir.file("load.events");
  echo_worker load =
      start_worker(mux.socket_path(), {"--peer", std::to_string(silent.id()), "--count", "1000000",
                                       "--in-flight", "4", "--events", load_events});
  for (int i = 0; i < 4; ++i) {
    auto request = silent.receive(5s);
    ASSERT_TRUE(request) << "the workload did not start";
    EXPECT_EQ(request->src_id, load.id);
  }

  mux.proc().signal(SIGKILL);
  auto st = mux.proc().wait(5s);
  ASSERT_TRUE(st && WIFSIGNALED(*st)) << status_text(st);

  for (auto& e : echoes) {
    auto est = e.proc.wait(5s);
    EXPECT_TRUE(exited_with(est, 0))
        << "echo worker " << e.id << " after the mux died: " << status_text(est);
  }
  EXPECT_TRUE(silent.wait_closed(5s)) << "a raw client did not see EOF";
  auto lst = load.proc.wait(5s);
  EXPECT_TRUE(exited_with(lst, 1)) << "the waiting worker: " << status_text(lst);
  // Its four waiters ended with an error, and the workload says why it failed.
  auto load_ev = read_events(load_events);
  auto dead = filter(load_ev, [](const json& e) {
    return str(e, "event") == "reply" && str(e, "outcome") == "dead" &&
           str(e, "reason") == reason::respondent_disconnected;
  });
  EXPECT_EQ(dead.size(), 4u);
  auto failed = filter(load_ev, [](const json& e) { return str(e, "event") == "workload_failed"; });
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_NE(str(failed[0], "why").find("connection to the mux lost"), std::string::npos)
      << failed[0].dump();

  // The socket file is left behind by the killed mux: nobody listens on it.
  auto late_connect = [&](const std::string& expected_errno) {
    std::string ev = dir.file("late-" + expected_errno + ".events");
    auto late = child_process::spawn({binary(), "worker", "--connect", mux.socket_path(),
                                      "--connect-timeout-ms", "2000", "--events", ev},
                                     true);
    auto lst = late.wait(10s);
    EXPECT_TRUE(exited_with(lst, 3)) << status_text(lst);
    auto got =
        filter(read_events(ev), [](const json& e) { return str(e, "event") == "connect_failed"; });
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(str(got[0], "errno"), expected_errno);
    EXPECT_EQ(str(got[0], "path"), mux.socket_path());
    EXPECT_NE(str(got[0], "detail").find("cannot connect to " + mux.socket_path()),
              std::string::npos)
        << got[0].dump();
    auto said = filter(read_events(ev), [&](const json& e) {
      return is_problem_log(e) &&
             str(e, "msg").find("cannot connect to " + mux.socket_path()) != std::string::npos &&
             str(e, "msg").find(expected_errno) != std::string::npos;
    });
    EXPECT_EQ(said.size(), 1u) << "the worker did not say clearly why it cannot connect";
  };
  ASSERT_EQ(::access(mux.socket_path().c_str(), F_OK), 0);
  late_connect("ECONNREFUSED");
  ::unlink(mux.socket_path().c_str());
  late_connect("ENOENT");
}

}  // namespace
}  // namespace faultmux::test::streams
