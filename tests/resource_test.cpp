// Resource faults on the mux's fd table: started under a low RLIMIT_NOFILE
// (`faultmux fault run --nofile N -- faultmux mux ...`), and its soft limit
// lowered below what it uses while it runs (`faultmux fault nofile`). Either
// way accept() meets EMFILE; the mux logs it, stays up with the client
// queued in the backlog, and accepts it once a descriptor is free again.
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <cstring>

#include <gtest/gtest.h>

#include "tests/support/fault_support.hpp"
#include "tests/support/mux_process.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using fault::finished;
using testing::HasSubstr;

bool accept_emfile(const mux_process& mux) {
  return mux
      .wait_event(
          [](const json& e) {
            return e.value("event", "") == "accept_error" && e.value("errno", "") == "EMFILE";
          },
          5s)
      .has_value();
}

// "PID 123: RLIMIT_NOFILE soft 1024 -> 9 (hard 4096)" -> 1024
std::optional<std::string> previous_soft(const std::string& out) {
  char before[32] = {};
  unsigned pid = 0, now = 0;
  if (std::sscanf(out.c_str(), "PID %u: RLIMIT_NOFILE soft %31s -> %u", &pid, before, &now) != 3)
    return std::nullopt;
  return std::string(before);
}

TEST(Resource, MuxUnderALowLimitMeetsEmfileAtAcceptAndRecovers) {
  run_dir dir;
  const int limit = 24;
  mux_process mux(dir, {"--backlog", "16"},
                  prefixed({binary(), "fault", "run", "--nofile", std::to_string(limit), "--"}));
  // `fault run` execs: the pid is the mux's own.
  ASSERT_FALSE(mux.events("listening").empty());
  EXPECT_EQ(mux.events("listening")[0].value("pid", -1), mux.pid());
  rlimit rl{};
  ASSERT_EQ(::prlimit(mux.pid(), RLIMIT_NOFILE, nullptr, &rl), 0);
  EXPECT_EQ(rl.rlim_cur, static_cast<rlim_t>(limit));

  // Clients that complete their handshake and stay, until one is not
  // answered: the mux is out of descriptors.
  std::vector<unique_fd> held;
  unique_fd queued;
  for (int i = 0; i < 2 * limit; ++i) {
    unique_fd fd;
    if (!probe_handshake(mux.socket_path(), 500ms, &fd)) {
      queued = std::move(fd);
      break;
    }
    held.push_back(std::move(fd));
  }
  ASSERT_TRUE(queued) << "every client was served: the limit did not bite";
  EXPECT_GT(held.size(), 0u);
  EXPECT_TRUE(accept_emfile(mux)) << mux.stderr_text();
  EXPECT_FALSE(
      fault::logs_with(mux.events(), {"accept() failed", "EMFILE", "listener stays up"}).empty());
  EXPECT_LE(open_fd_count(mux.pid(), limit), limit);
  EXPECT_TRUE(mux.alive());

  // One client leaves: its descriptor frees, and the queued client is accepted.
  held.pop_back();
  EXPECT_TRUE(read_identity(queued.get(), 5s)) << mux.stderr_text();
  EXPECT_TRUE(mux.wait_event("accept_recovered", 5s));
  // And so on for the next, once another leaves.
  held.pop_back();
  unique_fd next;
  EXPECT_TRUE(probe_handshake(mux.socket_path(), 5s, &next));
  EXPECT_TRUE(mux.alive());
}

class RunningMux : public testing::Test {
 protected:
  run_dir dir;
  mux_process mux{dir};
  std::string fev = dir.file("fault.events");
  std::string pid = std::to_string(mux.pid());
};

TEST_F(RunningMux, LimitLoweredThenRestored) {
  unique_fd first;
  ASSERT_TRUE(probe_handshake(mux.socket_path(), 5s, &first));
  finished low = fault::run_faultmux(
      dir, {"fault", "nofile", "--pid", pid, "--limit", "full", "--events", fev});
  ASSERT_TRUE(low.exited(0)) << low.describe();
  auto before = previous_soft(low.out);
  ASSERT_TRUE(before) << low.out;

  unique_fd waiting;
  EXPECT_FALSE(probe_handshake(mux.socket_path(), 300ms, &waiting));
  ASSERT_TRUE(waiting);
  EXPECT_TRUE(accept_emfile(mux)) << mux.stderr_text();
  EXPECT_TRUE(mux.alive());
  // The client already connected is unaffected.
  EXPECT_TRUE(stays_quiet(first.get(), 10ms));

  finished restore =
      fault::run_faultmux(dir, {"fault", "nofile", "--pid", pid, "--limit", *before});
  ASSERT_TRUE(restore.exited(0)) << restore.describe();
  EXPECT_TRUE(read_identity(waiting.get(), 5s)) << mux.stderr_text();
  EXPECT_TRUE(mux.wait_event("accept_recovered", 5s));
  EXPECT_TRUE(probe_handshake(mux.socket_path(), 5s));
  auto faults = fault::named(read_events(fev), "fault");
  ASSERT_EQ(faults.size(), 1u);
  EXPECT_EQ(faults[0].value("kind", ""), "nofile");
  EXPECT_EQ(faults[0].value("target_pid", -1), mux.pid());
}

TEST_F(RunningMux, RestoredByTheSameCommandAfterADelay) {
  child_process cmd = fault::start_faultmux(dir,
                                            {"fault", "nofile", "--pid", pid, "--limit", "full",
                                             "--restore-after-ms", "1500", "--events", fev},
                                            "nofile");
  auto line = cmd.read_line(5s);
  ASSERT_TRUE(line);
  auto before = previous_soft(*line);
  ASSERT_TRUE(before) << *line;
  unique_fd waiting;
  EXPECT_FALSE(probe_handshake(mux.socket_path(), 100ms, &waiting));
  ASSERT_TRUE(waiting) << "could not connect and send a pid: " << std::strerror(errno) << "\n"
                       << mux.stderr_text() << "alive: " << mux.alive();
  EXPECT_TRUE(accept_emfile(mux));
  EXPECT_TRUE(read_identity(waiting.get(), 5s)) << mux.stderr_text();
  finished f = fault::finish(cmd, dir, "nofile", 5s);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("RLIMIT_NOFILE soft restored to " + *before));
  auto faults = fault::named(read_events(fev), "fault");
  ASSERT_EQ(faults.size(), 2u);
  EXPECT_EQ(faults[1].value("kind", ""), "nofile_restore");
  EXPECT_GE(faults[1].value("t", 0.0) - faults[0].value("t", 0.0), 1.49);
  rlimit rl{};
  ASSERT_EQ(::prlimit(mux.pid(), RLIMIT_NOFILE, nullptr, &rl), 0);
  EXPECT_EQ(std::to_string(rl.rlim_cur), *before);
}

TEST_F(RunningMux, BadInputExitsTwoSayingWhatToFix) {
  finished f = fault::run_faultmux(dir, {"fault", "nofile", "--pid", pid, "--limit", "lots"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("--limit lots: not a count"));
  f = fault::run_faultmux(dir, {"fault", "nofile", "--pid", pid, "--limit", "99999999999"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("above the hard limit"));
  f = fault::run_faultmux(dir, {"fault", "run", "--nofile", "2", "--", "/bin/true"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("at least 3"));
  f = fault::run_faultmux(dir,
                          {"fault", "run", "--nofile", "16", "--", dir.file("no-such-program")});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("ENOENT"));
  f = fault::run_faultmux(dir, {"fault", "run", "--nofile", "16"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  // A process that is gone is not bad input but a fault that cannot apply.
  finished gone = fault::run_faultmux(dir, {"fault", "run", "--nofile", "16", "--", "/bin/true"});
  ASSERT_TRUE(gone.exited(0)) << gone.describe();
  f = fault::run_faultmux(dir, {"fault", "nofile", "--pid", "4194304", "--limit", "16"});
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("ESRCH"));
  EXPECT_TRUE(mux.alive());
}

}  // namespace
}  // namespace faultmux::test
