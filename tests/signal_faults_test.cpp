// Signal faults beyond one signal: a `sequence` with its gaps and a storm
// (`storm_hz`, `storm_ms`) load and are checked; the shim's FAULTMUX_SIGNALS
// gives the stormed signal a handler without SA_RESTART in the target (and
// nothing without it), so a storm interrupts instead of killing.
#include <sys/wait.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/scenario.hpp"
#include "roles/process.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using testing::HasSubstr;

const std::string head = R"(name = "s"
description = "d"
origin = "o"
[[workers]]
name = "w"
[[faults]]
kind = "signal"
)";

std::string error_of(const std::string& fault) {
  try {
    parse_scenario(head + fault, "s.toml");
  } catch (const scenario_error& e) {
    return e.what();
  }
  return "";
}

TEST(SignalFaultKeys, SequenceWithGapsLoads) {
  scenario s = parse_scenario(
      head + "signal = \"SIGTERM\"\nsequence = [\"SIGTERM\", \"SIGHUP\"]\ngaps_ms = [0, 3]\n",
      "s.toml");
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].sequence, (std::vector<std::string>{"SIGTERM", "SIGHUP"}));
  EXPECT_EQ(s.faults[0].gaps_ms, (std::vector<int>{0, 3}));
  // Without gaps: each follows the one before at once.
  s = parse_scenario(head + "signal = \"SIGINT\"\nsequence = [\"SIGINT\"]\n", "s.toml");
  EXPECT_EQ(s.faults[0].gaps_ms, (std::vector<int>{0}));
}

TEST(SignalFaultKeys, StormLoads) {
  scenario s =
      parse_scenario(head + "signal = \"SIGCHLD\"\nstorm_hz = 1000\nstorm_ms = 2000\n", "s.toml");
  EXPECT_EQ(s.faults[0].storm_hz, 1000);
  EXPECT_EQ(s.faults[0].storm_ms, 2000);
}

TEST(SignalFaultKeys, BadOnesAreRefusedSayingWhy) {
  EXPECT_THAT(error_of("signal = \"SIGTERM\"\nsequence = [\"SIGFOO\"]\n"),
              HasSubstr("'sequence' must be a non-empty array of signal names"));
  EXPECT_THAT(error_of("signal = \"SIGTERM\"\nsequence = [\"SIGINT\"]\ngaps_ms = [1, 2]\n"),
              HasSubstr("one integer 0..60000 per signal of 'sequence'"));
  EXPECT_THAT(error_of("signal = \"SIGCHLD\"\nstorm_hz = 1000\n"),
              HasSubstr("a storm needs both 'storm_hz'"));
  EXPECT_THAT(error_of("signal = \"SIGTERM\"\nstorm_hz = 10\nstorm_ms = 10\n"),
              HasSubstr("a storm sends SIGCHLD, SIGALRM"));
  EXPECT_THAT(error_of("signal = \"SIGCHLD\"\nstorm_hz = 0\nstorm_ms = 10\n"),
              HasSubstr("'storm_hz' must be an integer 1..10000"));
  EXPECT_THAT(error_of("signal = \"SIGALRM\"\nstorm_hz = 5\nstorm_ms = 10\nsequence = "
                       "[\"SIGALRM\"]\n"),
              HasSubstr("a storm or a sequence, not both"));
  EXPECT_THAT(parse_scenario(head + "signal = \"SIGHUP\"\n", "s.toml").faults[0].signal, "SIGHUP");
  std::string nofile = R"(name = "s"
description = "d"
origin = "o"
[[workers]]
name = "w"
[[faults]]
kind = "nofile"
limit = 10
storm_hz = 5
)";
  try {
    parse_scenario(nofile, "s.toml");
    ADD_FAILURE() << "storm_hz on a nofile fault loaded";
  } catch (const scenario_error& e) {
    EXPECT_THAT(e.what(), HasSubstr("'storm_hz' belongs to a signal fault"));
  }
}

// What CPython sees as SIGALRM's handler under the shim: None (a handler
// that is not Python's) with FAULTMUX_SIGNALS=SIGALRM, SIG_DFL (0) without.
std::string python_sees(const std::vector<std::string>& env, int* status) {
  std::vector<std::string> argv{"/usr/bin/env", std::string("LD_PRELOAD=") + FAULTMUX_SHIM};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.insert(argv.end(), {"/usr/bin/python3", "-c",
                           "import signal, os; print(signal.getsignal(signal.SIGALRM)); "
                           "os.kill(os.getpid(), signal.SIGALRM); print('alive')"});
  child_process p = child_process::spawn(argv, true);
  std::string out;
  while (auto line = p.read_line(10s)) out += *line + "\n";
  *status = p.wait(10s).value_or(-1);
  return out;
}

TEST(ShimSignals, NamedSignalsGetAHandlerThatDoesNothing) {
  int status = 0;
  EXPECT_EQ(python_sees({"FAULTMUX_SIGNALS=SIGALRM,SIGUSR1"}, &status), "None\nalive\n");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(ShimSignals, QuietWithoutTheVariable) {
  int status = 0;
  EXPECT_EQ(python_sees({}, &status), "0\n");  // SIG_DFL
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) << status;
}

TEST(ShimSignals, AnUnknownNameStopsTheProgram) {
  int status = 0;
  EXPECT_EQ(python_sees({"FAULTMUX_SIGNALS=SIGALRM,SIGKILL"}, &status), "");
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
}

}  // namespace
}  // namespace faultmux
