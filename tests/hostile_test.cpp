// Hostile peers (`faultmux worker --behave NAME`) against a real `faultmux
// mux`: each behaviour runs to its end with its documented exit status, the
// mux reacts as docs/protocol.md says (read from its events: the log lines with
// Mitogen's wording, disconnects, dead replies, the output cap), only the
// hostile client's connection suffers, and the mux still handshakes and
// routes afterwards.
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fault_support.hpp"
#include "tests/support/mux_fixture.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/sanitizers.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using fault::finished;
using ms = std::chrono::milliseconds;
using testing::HasSubstr;

class Hostile : public mux_fixture {
 protected:
  std::string events = dir.file("hostile.events");

  std::vector<std::string> args(const std::string& behaviour,
                                const std::vector<std::string>& extra = {}) const {
    std::vector<std::string> a{"--behave", behaviour};
    a.insert(a.end(), extra.begin(), extra.end());
    return worker_args(events, a);
  }

  finished behave(const std::string& behaviour, const std::vector<std::string>& extra = {}) {
    return fault::run_faultmux(dir, args(behaviour, extra), 30s);
  }

  // The pid of the last hostile worker, from its own events.
  pid_t hostile_pid() const {
    auto starts = fault::named(read_events(events), "hostile_start");
    return starts.empty() ? -1 : starts.back().value("pid", -1);
  }
  std::string stream_name() const { return "unix_client." + std::to_string(hostile_pid()); }

  std::optional<json> disconnect_of_hostile(ms timeout = 5s) const {
    return mux->wait_event(streams::disconnect_of(stream_name()), timeout);
  }
};

TEST_F(Hostile, StallCostsOnlyItsOwnConnection) {
  start({"--handshake-timeout-ms", "400"});
  child_process stall = fault::start_faultmux(dir, args("stall", {"--hold-ms", "5000"}), "stall");
  ASSERT_TRUE(eventually(
      [&] {
        for (const json& e : fault::named(read_events(events), "hostile"))
          if (e.value("what", "") == "sending nothing") return true;
        return false;
      },
      5s));
  // While the stalled client holds its connection, others handshake and route.
  EXPECT_TRUE(fault::mux_serves(mux->socket_path(), echo.id));
  finished f = fault::finish(stall, dir, "stall", 10s);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("the mux closed the stalled connection"));
  auto log =
      mux_log(fmt::format("failed to read remote identity, got 0 bytes: handshake timed "
                          "out after 400 ms (PID {} by peer credentials)",
                          hostile_pid()));
  EXPECT_TRUE(log) << mux->stderr_text();
  expect_alive_and_routing();
}

TEST_F(Hostile, ShortPidOfZeroToThreeBytes) {
  start();
  for_every(0, 3, [&](int n) {
    finished f = behave("short-pid", {"--pid-bytes", std::to_string(n)});
    ASSERT_TRUE(f.exited(0)) << f.describe();
    EXPECT_TRUE(
        mux_log(fmt::format("failed to read remote identity, got {} bytes: EOF (PID {} by "
                            "peer credentials)",
                            n, hostile_pid())))
        << n << " bytes\n"
        << mux->stderr_text();
  });
  // No context id was spent on them: the next client gets the next id.
  auto before = streams::raw_client::connect_as(mux->socket_path(), 1);
  EXPECT_EQ(before.id(), echo.id + 1);
  expect_alive_and_routing();
}

TEST_F(Hostile, ExitAfterPidBeforeTheReply) {
  start();
  // Stopped, the mux reads the pid only after the client has gone, so its
  // reply must meet the closed socket (without the stop, the kernel may
  // buffer the reply first and the mux sees an EOF instead).
  mux->proc().signal(SIGSTOP);
  ASSERT_TRUE(fault::wait_stopped(mux->pid()));
  finished f = behave("exit-after-pid");
  mux->proc().signal(SIGCONT);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  pid_t pid = hostile_pid();
  EXPECT_TRUE(mux_log(fmt::format("failed to assign identity to PID {}: EPIPE", pid)))
      << mux->stderr_text();
  auto failed = mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "handshake_failed" && e.value("pid", -1) == pid;
      },
      5s);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->value("got", -1), 4);
  for (const json& e : mux->events("handshake"))
    EXPECT_NE(e.value("pid", -1), pid) << "the mux logged a completed handshake for PID " << pid;
  expect_alive_and_routing();
}

TEST_F(Hostile, NeverReadReply) {
  start();
  finished f = behave("never-read-reply", {"--hold-ms", "300"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("held 300 ms"));
  pid_t pid = hostile_pid();
  // The mux finished its side (the reply sat unread in the client's socket)
  // and dropped the stream when the client closed.
  EXPECT_TRUE(mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "handshake" && e.value("pid", -1) == pid;
      },
      5s));
  EXPECT_TRUE(disconnect_of_hostile());
  expect_alive_and_routing();
}

TEST_F(Hostile, GarbageIsCorruptionAndSeeded) {
  start();
  std::vector<std::string> dumps;
  for (const char* seed : {"7", "7", "8"}) {
    finished f = behave("garbage", {"--seed", seed, "--size", "200"});
    ASSERT_TRUE(f.exited(0)) << f.describe();
    EXPECT_THAT(f.out, HasSubstr("disconnected by the mux"));
    auto log = mux_log(stream_name() + ": Corruption detected: frame signature incorrect");
    ASSERT_TRUE(log) << mux->stderr_text();
    EXPECT_TRUE(disconnect_of_hostile());
    std::string msg = log->value("msg", "");
    dumps.push_back(msg.substr(msg.find("(expected")));
  }
  // The same seed sends the same bytes; another seed, others.
  EXPECT_EQ(dumps[0], dumps[1]);
  EXPECT_NE(dumps[0], dumps[2]);
  expect_alive_and_routing();
}

TEST_F(Hostile, BadMagic) {
  start();
  finished f = behave("bad-magic");
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_TRUE(mux_log(stream_name() +
                      ": Corruption detected: frame signature incorrect (expected 0x4d49, got "
                      "0x4d58)"))
      << mux->stderr_text();
  EXPECT_TRUE(disconnect_of_hostile());
  expect_alive_and_routing();
}

TEST_F(Hostile, OversizeHeaders) {
  start({"--max-message-size", "65536"});
  for (auto [behaviour, got] :
       {std::pair{"oversize-plus-1", "65537"}, std::pair{"oversize-ffffffff", "4294967295"}}) {
    finished f = behave(behaviour, {"--max-message-size", "65536"});
    ASSERT_TRUE(f.exited(0)) << behaviour << ": " << f.describe();
    EXPECT_TRUE(mux_log(
        fmt::format("{}: Maximum message size exceeded (got {}, max 65536)", stream_name(), got)))
        << behaviour << "\n"
        << mux->stderr_text();
    EXPECT_TRUE(disconnect_of_hostile()) << behaviour;
  }
  // A header claiming 4 GiB cost the mux nothing: no body was allocated.
  EXPECT_LT(fault::peak_rss_kib(mux->pid()), 64 * 1024 * memory_slack);
  expect_alive_and_routing();
}

TEST_F(Hostile, SingleBytesAndManyFramesAreDeliveredIntact) {
  start();
  finished f = behave("single-bytes", {"--target", std::to_string(echo.id), "--size", "100"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("1 correct replies in order"));
  f = behave("many-frames", {"--target", std::to_string(echo.id), "--count", "300"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("300 correct replies in order"));
  // Nothing about either was worth a warning: both were well-formed.
  EXPECT_THAT(fault::problem_logs(mux->events()), testing::IsEmpty());
  expect_alive_and_routing();
}

TEST_F(Hostile, SpoofedAuthAndSrcAreDropped) {
  start();
  std::string target = std::to_string(echo.id);
  finished f = behave("spoof-auth", {"--target", target});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("spoofed request dropped"));
  EXPECT_TRUE(
      mux_log(fmt::format("bad auth_id: got {} via {}, not unix_client.", echo.id, stream_name())))
      << mux->stderr_text();
  EXPECT_EQ(fault::named(mux->events(), "bad_auth_id").size(), 1u);

  f = behave("spoof-src", {"--target", target});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_TRUE(
      mux_log(fmt::format("bad src_id: got {} via {}, not unix_client.", echo.id, stream_name())))
      << mux->stderr_text();
  EXPECT_EQ(fault::named(mux->events(), "bad_src_id").size(), 1u);
  expect_alive_and_routing();
}

TEST_F(Hostile, ForbiddenRouteGetsADeadReply) {
  start();
  finished f = behave("forbidden-route");
  ASSERT_TRUE(f.exited(0)) << f.describe();
  const std::string reason = "no route to 2147483632, my ID is 0";
  EXPECT_THAT(f.out, HasSubstr(reason));
  EXPECT_TRUE(mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "dead" && e.value("reason", "") == reason;
      },
      5s));
  // A forward the mux does make is not refused: the check itself is sound.
  f = behave("forbidden-route", {"--target", std::to_string(echo.id)});
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("the mux forwarded the message"));
  expect_alive_and_routing();
}

TEST_F(Hostile, UnknownHandleGetsInvalidHandleFromTheContextAddressed) {
  start();
  finished f = behave("unknown-handle", {"--target", std::to_string(echo.id)});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("invalid handle from context 0, " + std::to_string(echo.id)));
  // The mux's own answer is in its events; the echo worker's came from it.
  EXPECT_TRUE(mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "dead" && e.value("reason", "") == "invalid handle";
      },
      5s));
  auto saw = fault::named(read_events(events), "hostile");
  int answers = 0;
  for (const auto& e : saw)
    if (e.value("step", "") == "saw" && e.value("reason", "") == "invalid handle") ++answers;
  EXPECT_EQ(answers, 2);
  // Another dead reason is no `invalid handle`: the check itself is sound.
  f = behave("unknown-handle", {"--target", "4242"});
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("context 4242 answered dead no route to 4242, my ID is 0"));
  expect_alive_and_routing();
}

TEST_F(Hostile, RouteAbuseIsLoggedAndIgnored) {
  start();
  finished f = behave("route-abuse", {"--target", std::to_string(echo.id)});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("routes unchanged"));
  EXPECT_TRUE(mux_log(
      fmt::format("ADD_ROUTE for {} from {} ignored: route already via", echo.id, stream_name())))
      << mux->stderr_text();
  EXPECT_TRUE(mux_log(fmt::format("via {} ignored: the route goes via", stream_name())));
  EXPECT_TRUE(mux_log(fmt::format("via {} ignored: not from an immediate child", stream_name())));
  expect_alive_and_routing();
}

// Aimed at its own id, the DEL_ROUTE comes from the right stream and the mux
// applies it (the route to the hostile client is gone, so even the dead
// reply cannot reach it): the check after it sees the table changed.
TEST_F(Hostile, RouteAbuseSeesATableThatChanged) {
  start();
  const std::uint32_t own = echo.id + 1;  // the mux hands out ids in order
  finished f = behave("route-abuse", {"--target", std::to_string(own), "--hold-ms", "1000"});
  ASSERT_THAT(f.out, HasSubstr(fmt::format("context_id={} ", own)))
      << "the hostile worker did not get the next id: " << f.describe();
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr(fmt::format("no echo from context {}", own)));
  // The mux applied that DEL_ROUTE: no refusal of it was logged.
  EXPECT_FALSE(mux_log(fmt::format("DEL_ROUTE for {} ", own), 200ms)) << mux->stderr_text();
  expect_alive_and_routing();
}

TEST_F(Hostile, OversizeBodyDisconnects) {
  start({"--max-message-size", "65536"});
  finished f =
      behave("oversize-body", {"--target", std::to_string(echo.id), "--max-message-size", "65536"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("disconnected by the mux"));
  EXPECT_TRUE(mux_log(
      fmt::format("{}: Maximum message size exceeded (got 65537, max 65536)", stream_name())))
      << mux->stderr_text();
  EXPECT_TRUE(disconnect_of_hostile());
  expect_alive_and_routing();
}

TEST_F(Hostile, SlowReaderMeetsTheOutputCap) {
  start({"--output-cap", "1048576"});
  finished f = behave("slow-reader", {"--target", std::to_string(echo.id), "--count", "100",
                                      "--size", "65536", "--hold-ms", "10000"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("disconnected by the mux"));
  auto cap = mux->wait_event(
      [&](const json& e) {
        return e.value("event", "") == "output_cap" && e.value("stream", "") == stream_name();
      },
      5s);
  ASSERT_TRUE(cap) << mux->stderr_text();
  EXPECT_EQ(cap->value("cap", 0), 1048576);
  EXPECT_TRUE(mux_log(stream_name() + ": output queue holds"));
  EXPECT_TRUE(disconnect_of_hostile());
  expect_alive_and_routing();
}

TEST_F(Hostile, BadInputExitsTwoSayingWhatToFix) {
  start();
  finished f = behave("single-bytes");
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("needs --target ID"));
  f = behave("short-pid", {"--pid-bytes", "4"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--pid-bytes must be 0, 1, 2 or 3"));
  f = behave("no-such-thing");
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("use one of stall, short-pid"));
  f = behave("stall", {"--peer", "1"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("replaces the worker's own workload"));
  // And a mux that is not there is "cannot connect".
  f = fault::run_faultmux(dir, {"worker", "--connect", dir.file("nothing.sock"), "--behave",
                                "stall", "--connect-timeout-ms", "200"});
  EXPECT_TRUE(f.exited(3)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("ENOENT"));
}

}  // namespace
}  // namespace faultmux::test
