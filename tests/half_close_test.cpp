// Hostile peers that half-close their socket against a real `faultmux mux`:
// shutdown(SHUT_WR) in the middle of a frame with the socket kept open, and
// shutdown(SHUT_RD) while sending on. The mux must see each as the end of
// that stream exactly once: one error line, one disconnect, no CPU spent on
// a socket that stays readable at EOF.
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/fault_support.hpp"
#include "tests/support/mux_fixture.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/process_support.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux::test {
namespace {

using namespace std::chrono_literals;
using fault::finished;
using testing::HasSubstr;

// utime + stime of pid, in ms.
long cpu_ms(pid_t pid) {
  std::string stat = slurp("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; in >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) {
      stime = std::stol(field);
      break;
    }
  }
  return (utime + stime) * 1000 / ::sysconf(_SC_CLK_TCK);
}

class HalfClose : public mux_fixture {
 protected:
  std::string events = dir.file("hostile.events");

  pid_t hostile_pid() const {
    auto starts = fault::named(read_events(events), "hostile_start");
    return starts.empty() ? -1 : starts.back().value("pid", -1);
  }
  std::string stream_name() const { return "unix_client." + std::to_string(hostile_pid()); }

  bool did_seen() const {
    for (const json& e : fault::named(read_events(events), "hostile"))
      if (e.value("step", "") == "did") return true;
    return false;
  }

  // Log lines of the mux, at warning or error, that name the hostile stream.
  int problems_of_hostile() const {
    int n = 0;
    for (const json& e : mux->events())
      if (streams::problem_naming(stream_name())(e)) ++n;
    return n;
  }
  int disconnects_of_hostile() const {
    int n = 0;
    for (const json& e : mux->events())
      if (streams::disconnect_of(stream_name())(e)) ++n;
    return n;
  }
};

TEST_F(HalfClose, MidFrameIsOneDisconnectAndNoSpinning) {
  start();
  for (auto [behaviour, bytes] : {std::pair{"half-close-header", 13}, {"half-close-body", 58}}) {
    SCOPED_TRACE(behaviour);
    child_process p = fault::start_faultmux(
        dir, worker_args(events, {"--behave", behaviour, "--hold-ms", "3000"}), behaviour);
    ASSERT_TRUE(eventually([&] { return did_seen(); }, 5s));
    // The peer keeps its half-closed socket open while the mux runs on: a
    // reader that does not take EOF as the end spins on it at 100% CPU.
    long before = cpu_ms(mux->pid());
    std::this_thread::sleep_for(1s);
    long spent = cpu_ms(mux->pid()) - before;
    EXPECT_LT(spent, 100) << "the mux spent " << spent << " ms of CPU in 1 s after the EOF";
    finished f = fault::finish(p, dir, behaviour, 10s);
    ASSERT_TRUE(f.exited(0)) << f.describe();
    EXPECT_THAT(f.out, HasSubstr("the mux closed the half-closed connection"));
    EXPECT_TRUE(mux_log(stream_name() + ": disconnected: EOF with " + std::to_string(bytes) +
                        " bytes of an incomplete frame"))
        << mux->stderr_text();
    EXPECT_EQ(problems_of_hostile(), 1) << mux->stderr_text();
    EXPECT_EQ(disconnects_of_hostile(), 1);
  }
  expect_alive_and_routing();
}

TEST_F(HalfClose, ShutRdMakesTheMuxSendMeetEpipeOnce) {
  start();
  finished f = fault::run_faultmux(dir, worker_args(events, {"--behave", "shut-rd"}), 30s);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("disconnected by the mux"));
  EXPECT_TRUE(mux_log(stream_name() + ": send failed: EPIPE")) << mux->stderr_text();
  ASSERT_TRUE(eventually([&] { return disconnects_of_hostile() == 1; }, 5s));
  EXPECT_EQ(problems_of_hostile(), 1) << mux->stderr_text();
  expect_alive_and_routing();
}

TEST_F(HalfClose, EpipeAndEofInOnePassTearDownOnce) {
  start();
  for (int i = 0; i < 5; ++i) {
    SCOPED_TRACE("run " + std::to_string(i));
    finished f = fault::run_faultmux(dir, worker_args(events, {"--behave", "shut-rd-close"}), 30s);
    ASSERT_TRUE(f.exited(0)) << f.describe();
    ASSERT_TRUE(eventually([&] { return disconnects_of_hostile() >= 1; }, 5s));
    std::this_thread::sleep_for(100ms);  // a second teardown would come now
    EXPECT_EQ(disconnects_of_hostile(), 1);
    EXPECT_LE(problems_of_hostile(), 1) << mux->stderr_text();
  }
  expect_alive_and_routing();
}

}  // namespace
}  // namespace faultmux::test
