// `faultmux mux --legacy-bug NAME` re-enables one historical Mitogen failure
// on purpose. For each bug, a real mux process shows the failure with the
// flag, and the same setup without it shows the correct behaviour: the test
// proves both that the bug fires and that the suite's checks can tell.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "mux/pickle.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/mux_fixture.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;

const char* const shim = FAULTMUX_SHIM;

std::vector<std::string> with_bug(bool on, const char* bug, std::vector<std::string> args = {}) {
  if (on) args.insert(args.end(), {"--legacy-bug", bug});
  return args;
}

// The listener closed by the named bug: its event, then a refused connect
// while the socket file is still there.
::testing::AssertionResult listener_crashed(const mux_process& mux, const std::string& bug) {
  auto e = mux.wait_event(
      [&](const json& j) {
        return j.value("event", "") == "listener_crashed" && j.value("bug", "") == bug;
      },
      5s);
  if (!e) return ::testing::AssertionFailure() << "no listener_crashed event for " << bug;
  int err = 0;
  unique_fd fd = raw_connect(mux.socket_path(), true, &err);
  if (fd || err != ECONNREFUSED)
    return ::testing::AssertionFailure()
           << "a later connect was not refused: " << (fd ? "connected" : std::strerror(err));
  struct stat st {};
  if (::lstat(mux.socket_path().c_str(), &st) != 0 || !S_ISSOCK(st.st_mode))
    return ::testing::AssertionFailure() << "the socket file is gone";
  return ::testing::AssertionSuccess();
}

bool no_crash(const mux_process& mux) {
  return mux.events("listener_crashed").empty();
}

void stop(mux_process& mux) {
  ASSERT_EQ(::kill(mux.pid(), SIGSTOP), 0);
  ASSERT_TRUE(fault::wait_stopped(mux.pid()));
}

// The legacy bugs each run twice, with the bug and without, against a mux
// of their own in the test's directory.
class Legacy : public mux_fixture {
 protected:
  template <class F>
  void with_and_without_bug(F body) {
    for (bool on : {true, false}) {
      SCOPED_TRACE(on ? "with the bug" : "without");
      body(on);
    }
  }
  // Starts the mux of one run ("bug" or "fixed": its socket, events and
  // stderr apart from the other run's); the previous run's is killed.
  mux_process& start_mux(bool on, std::vector<std::string> args, mux_config cfg = {}) {
    cfg.name = on ? "bug" : "fixed";
    mux.emplace(dir, std::move(args), std::move(cfg));
    return *mux;
  }
};

TEST_F(Legacy, UnknownNameExitsTwoListingTheKnownOnes) {
  fault::finished f = fault::run_faultmux(
      dir, {"mux", "--listen", dir.file("m.sock"), "--legacy-bug", "no-such-bug"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--legacy-bug no-such-bug: no such bug; known: crash-on-eagain, "
                               "small-backlog, epipe-crash, blocking-handshake, accept-crash, "
                               "no-dead-message, no-dead-reply-on-disconnect, "
                               "error-disconnect-at-debug, no-handshake-deadline, no-uid-check"));
}

TEST_F(Legacy, StartWarnsNamingTheBugsEnabled) {
  start_mux(true, {"--legacy-bug", "small-backlog", "--legacy-bug", "no-dead-message"});
  EXPECT_THAT(mux->stderr_text(),
              HasSubstr("legacy bugs enabled on purpose, this mux fails like old Mitogen: "
                        "small-backlog, no-dead-message"));
  mux_config plain_cfg;
  plain_cfg.name = "plain";
  mux_process plain(dir, {}, plain_cfg);
  EXPECT_THAT(plain.stderr_text(), testing::Not(HasSubstr("legacy")));
}

// EAGAIN on the first recv of each accepted socket (the shim): the legacy
// listener's one plain recv fails and takes the listener down; ours waits.
TEST_F(Legacy, CrashOnEagain) {
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "crash-on-eagain"),
              prefixed(fault::shim_prefix(shim, "recv@accepted#1 per-fd -> EAGAIN",
                                          dir.file("faults.jsonl"))));
    auto first = probe_handshake(mux->socket_path(), 2s);
    if (on) {
      EXPECT_FALSE(first);
      EXPECT_TRUE(listener_crashed(*mux, "crash-on-eagain")) << mux->stderr_text();
    } else {
      EXPECT_TRUE(first) << mux->stderr_text();
      EXPECT_TRUE(probe_handshake(mux->socket_path(), 2s));
      EXPECT_TRUE(no_crash(*mux));
    }
    EXPECT_TRUE(mux->alive());
  });
}

// 40 non-blocking connects while the mux is stopped, with --backlog 100: the
// legacy listener's backlog of 30 queues 31 and refuses the rest with EAGAIN.
TEST_F(Legacy, SmallBacklog) {
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "small-backlog", {"--backlog", "100"}));
    ASSERT_FALSE(mux->events("listening").empty());
    EXPECT_EQ(mux->events("listening")[0].value("backlog", 0), on ? 30 : 100);
    stop(*mux);
    std::vector<unique_fd> queued;
    int refused_at = -1, err = 0;
    for (int i = 0; i < 40; ++i) {
      unique_fd fd = raw_connect(mux->socket_path(), true, &err);
      if (!fd) {
        refused_at = i;
        break;
      }
      queued.push_back(std::move(fd));
    }
    ::kill(mux->pid(), SIGCONT);
    if (on) {
      EXPECT_EQ(refused_at, 31) << "connect #32 is the first refused";
      EXPECT_EQ(err, EAGAIN);
    } else {
      EXPECT_EQ(refused_at, -1) << "refused connect #" << refused_at + 1 << ": "
                                << std::strerror(err);
    }
    queued.clear();
    EXPECT_TRUE(probe_handshake(mux->socket_path(), 5s));
  });
}

// A client sends its pid and leaves while the mux is stopped: the identity
// reply meets EPIPE. The legacy listener closes; ours drops that client.
TEST_F(Legacy, EpipeCrash) {
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "epipe-crash"));
    stop(*mux);
    {
      unique_fd c = raw_connect(mux->socket_path());
      ASSERT_TRUE(c);
      ASSERT_TRUE(send_pid(c.get(), 4242));
    }
    ::kill(mux->pid(), SIGCONT);
    if (on) {
      EXPECT_TRUE(listener_crashed(*mux, "epipe-crash")) << mux->stderr_text();
    } else {
      EXPECT_TRUE(mux->wait_event("handshake_failed", 5s)) << mux->stderr_text();
      EXPECT_TRUE(eventually(
          [&] {
            return mux->stderr_text().find("failed to assign identity to PID 4242") !=
                   std::string::npos;
          },
          5s))
          << mux->stderr_text();
      EXPECT_TRUE(probe_handshake(mux->socket_path(), 5s));
      EXPECT_TRUE(no_crash(*mux));
    }
    EXPECT_TRUE(mux->alive());
  });
}

// A client connects and says nothing: the legacy listener blocks on it, so a
// second client's handshake waits until the first closes; ours serves the
// second at once.
TEST_F(Legacy, BlockingHandshake) {
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "blocking-handshake"));
    unique_fd staller = raw_connect(mux->socket_path());
    ASSERT_TRUE(staller);
    std::this_thread::sleep_for(200ms);  // accepted, and (with the bug) blocked on
    unique_fd second;
    bool served = probe_handshake(mux->socket_path(), 1s, &second).has_value();
    if (on) {
      EXPECT_FALSE(served) << "the second client was served while the first stalled";
      ASSERT_TRUE(second);
      staller.reset();
      EXPECT_TRUE(read_identity(second.get(), 5s)) << mux->stderr_text();
    } else {
      EXPECT_TRUE(served) << mux->stderr_text();
      EXPECT_TRUE(stays_quiet(staller.get(), 10ms)) << "the staller is still waited for";
    }
    EXPECT_TRUE(mux->alive());
  });
}

// Clients held open under a low RLIMIT_NOFILE until accept() meets EMFILE:
// the legacy listener closes for good; ours serves the queued client once a
// descriptor frees.
TEST_F(Legacy, AcceptCrash) {
  const int limit = 24;
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "accept-crash", {"--backlog", "16"}),
              prefixed({binary(), "fault", "run", "--nofile", std::to_string(limit), "--"}));
    std::vector<unique_fd> held;
    unique_fd queued;  // kept when it got as far as sending its pid
    bool limit_hit = false;
    for (int i = 0; i < 2 * limit; ++i) {
      unique_fd fd;
      if (!probe_handshake(mux->socket_path(), 500ms, &fd)) {
        limit_hit = true;
        queued = std::move(fd);
        break;
      }
      held.push_back(std::move(fd));
    }
    // With the bug the listener may close before this client's pid is even
    // sent: that too is the limit biting.
    ASSERT_TRUE(limit_hit) << "every client was served: the limit did not bite: "
                           << mux->stderr_text();
    ASSERT_FALSE(held.empty());
    if (on) {
      EXPECT_TRUE(listener_crashed(*mux, "accept-crash")) << mux->stderr_text();
      held.clear();  // descriptors free up: the listener stays gone
      EXPECT_TRUE(listener_crashed(*mux, "accept-crash"));
    } else {
      ASSERT_TRUE(queued) << "the queued client could not even send its pid: "
                          << mux->stderr_text();
      held.pop_back();
      EXPECT_TRUE(read_identity(queued.get(), 5s)) << mux->stderr_text();
      EXPECT_TRUE(mux->wait_event("accept_recovered", 5s));
      EXPECT_TRUE(no_crash(*mux));
    }
    EXPECT_TRUE(mux->alive());
  });
}

// The mux's context service answers a request for an unknown service with
// an error naming it: with a 4000-character name, the answer is over the
// 4096-byte limit. The requester gets a dead `message too large` reply, or
// (with the bug) nothing at all.
TEST_F(Legacy, NoDeadMessage) {
  const std::uint32_t limit = 4096;
  std::string request = *pickle::encode(
      pickle::tuple{{pickle::text{std::string(4000, 's')}, "get",
                     pickle::kwargs{pickle::pairs{{pickle::value("name"), pickle::value("x")}}}}});
  ASSERT_LE(request.size(), limit);
  with_and_without_bug([&](bool on) {
    start_mux(on, with_bug(on, "no-dead-message", {"--max-message-size", std::to_string(limit)}));
    auto c = streams::raw_client::connect_as(mux->socket_path(), streams::raw_client::fake_pid());
    ASSERT_TRUE(c.send(streams::to(c.mux_id(), handle::call_service, request, 5000)));
    auto reply = c.receive(on ? 1s : 5s);
    if (on) {
      EXPECT_FALSE(reply) << "got a reply: " << reply->data;
    } else {
      ASSERT_TRUE(reply) << mux->stderr_text();
      EXPECT_TRUE(reply->is_dead());
      EXPECT_EQ(reply->handle, 5000u);
      EXPECT_EQ(reply->data, fmt::format("message too large (max {} bytes)", limit));
    }
    EXPECT_THAT(mux->stderr_text(), HasSubstr("over the limit of 4096: dropped"));
    EXPECT_TRUE(streams::sync_with_mux(c));  // and the mux routes on
  });
}

}  // namespace
}  // namespace faultmux::test
