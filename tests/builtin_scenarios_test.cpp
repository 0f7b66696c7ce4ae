// The built-in suite, one test per scenarios/*.toml: `faultmux run FILE`
// passes, says so under the scenario's name, and leaves no run directory and
// no process behind. A failing scenario is its own ctest line, with the
// driver's output as its message.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/cli_run.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sanitizers.hpp"

namespace faultmux {
namespace {

using ms = std::chrono::milliseconds;
namespace fs = std::filesystem;

const char* const scenarios_dir = FAULTMUX_SOURCE_DIR "/scenarios";

// The scenario files, sorted, found when the test binary runs (so a new
// file needs no change here).
std::vector<std::string> scenario_names() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(scenarios_dir, ec))
    if (e.path().extension() == ".toml") names.push_back(e.path().stem().string());
  std::sort(names.begin(), names.end());
  return names;
}

class BuiltInScenario : public testing::TestWithParam<std::string> {};

TEST_P(BuiltInScenario, Passes) {
  const std::string& name = GetParam();
  test::run_dir tmp;
  test::ran r = test::run_cli(tmp.path(), {std::string(scenarios_dir) + "/" + name + ".toml"},
                              ms(60000 * test::time_slack));
  EXPECT_EQ(test::exit_code(r), 0) << r.out;
  EXPECT_NE(r.out.find("PASS " + name + " "), std::string::npos) << name << "\n" << r.out;
  EXPECT_TRUE(fs::is_empty(tmp.path())) << "a run directory was left in " << tmp.path();
  EXPECT_TRUE(test::processes_mentioning(tmp.path()).empty());
}

// Test names allow only letters, digits and '_'.
std::string test_name(const testing::TestParamInfo<std::string>& info) {
  std::string s = info.param;
  std::replace(s.begin(), s.end(), '-', '_');
  return s;
}

INSTANTIATE_TEST_SUITE_P(Suite, BuiltInScenario, testing::ValuesIn(scenario_names()), test_name);

// The scenarios the suite is known to hold are all still there: a file
// renamed or removed by mistake would otherwise just drop its test.
TEST(BuiltInScenarios, EveryKnownScenarioHasItsFile) {
  const std::vector<std::string> found = scenario_names();
  for (const char* name : {"exit-after-pid",
                           "eagain-first-recv",
                           "backlog-while-stopped",
                           "bad-magic",
                           "stall-during-storm",
                           "short-pid",
                           "kill-pid-sent",
                           "kill-mid-frame",
                           "kill-awaiting-reply",
                           "backlog-equal-stopped",
                           "backlog-far-above-stopped",
                           "eagain-on-send",
                           "short-writes",
                           "fd-exhaustion-accept",
                           "oversize-length",
                           "single-byte-frames",
                           "many-frames-per-write",
                           "spoofed-ids",
                           "oversize-body",
                           "slow-reader",
                           "caller-killed-pending-call",
                           "random-mixed-faults",
                           "backlog-at-forks-no-retry",
                           "stall-blocks-nobody",
                           "context-killed-mid-call",
                           "context-killed-behind-intermediate",
                           "intermediate-killed-mid-call",
                           "oversize-reply",
                           "unidirectional-refusals",
                           "policy-refusal",
                           "unix-client-auth-stamped",
                           "no-route-invalid-handle",
                           "peer-client-dies-unanswered",
                           "listener-short-identity",
                           "connect-failures",
                           "mux-killed-under-workers",
                           "shutdown-with-clients",
                           "restart-over-stale-socket",
                           "second-mux-live-path",
                           "route-table-abuse",
                           "accept-aborted",
                           "context-lingers-after-its-channel",
                           "context-dies-with-its-diagnostics",
                           "context-output-floods",
                           "context-start-failures",
                           "context-abandoned-on-eperm"})
    EXPECT_NE(std::find(found.begin(), found.end(), name), found.end())
        << name << ".toml is missing from " << scenarios_dir;
}

}  // namespace
}  // namespace faultmux
