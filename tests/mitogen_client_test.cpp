// scenarios/mitogen_client.py, the real Mitogen clients a user points at a
// mux: a serve client and an echo client through faultmux's mux and through
// Mitogen's own listener, each reply checked; a reply that cannot come is a
// failure with its reason, never a hang.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using test::python;
using test::run_dir;

const std::string client = std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_client.py";

class MitogenClient : public testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::mitogen_version())
        << python << " cannot import mitogen: run tools/install-deps";
    socket_ = dir_.file("mux.sock");
    if (std::string(GetParam()) == "faultmux")
      mux_ = child_process::spawn({test::binary(), "mux", "--listen", socket_}, true);
    else
      mux_ = child_process::spawn(
          {python, "-B", std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/mitogen_mux.py", "--listen",
           socket_},
          true);
    for (auto line = mux_.read_line(20s); line; line = mux_.read_line(20s))
      if (*line == "listening " + socket_) return;
    FAIL() << GetParam() << " did not listen on " << socket_;
  }

  void TearDown() override {
    mux_.signal(SIGTERM);
    auto st = mux_.wait(20s);
    EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << GetParam();
  }

  // Starts a serve client; its context id and handle.
  std::pair<std::string, std::string> serve(child_process& s) {
    s = child_process::spawn({python, "-B", client, "serve", socket_, "--timeout", "20"}, true);
    auto line = s.read_line(30s);
    std::istringstream in(line.value_or(""));
    std::string word, ctx, handle;
    in >> word >> ctx >> handle;
    EXPECT_EQ(word, "serving") << line.value_or("(nothing)");
    return {ctx, handle};
  }

  run_dir dir_;
  std::string socket_;
  child_process mux_;
};

TEST_P(MitogenClient, EchoesThroughTheMuxAndStops) {
  child_process s;
  auto [ctx, handle] = serve(s);
  auto echo = test::run_program({python, "-B", client, "echo", socket_, ctx, handle, "--messages",
                                 "50", "--size", "70000", "--in-flight", "4", "--timeout", "20"});
  EXPECT_TRUE(echo.exited_zero()) << echo.describe();
  ASSERT_EQ(echo.lines.size(), 1u) << echo.describe();
  EXPECT_EQ(echo.lines[0], "ok echoed 50");
  auto stop = test::run_program({python, "-B", client, "stop", socket_, ctx, handle});
  EXPECT_TRUE(stop.exited_zero()) << stop.describe();
  auto st = s.wait(30s);
  ASSERT_TRUE(st);
  EXPECT_TRUE(WIFEXITED(*st) && WEXITSTATUS(*st) == 0) << describe_status(*st);
  EXPECT_EQ(s.read_line(1s).value_or(""), "served 50");
}

// No context 999: the mux answers dead, and the client fails saying so.
TEST_P(MitogenClient, ADeadReplyFailsWithItsReason) {
  const std::string err = dir_.file("echo.stderr");
  auto echo = test::run_program(
      {python, "-B", client, "echo", socket_, "999", "1000", "--messages", "1", "--timeout", "10"},
      err);
  EXPECT_FALSE(echo.exited_zero()) << echo.describe();
  EXPECT_NE(test::slurp(err).find("reply to message 0 is dead: b'no route to 999"),
            std::string::npos)
      << test::slurp(err);
}

INSTANTIATE_TEST_SUITE_P(Muxes, MitogenClient, testing::Values("faultmux", "mitogen"));

TEST(MitogenClientUsage, WithoutMitogenItSaysWhatToInstall) {
  run_dir dir;
  auto r = test::run_program({python, "-B", client, "--mitogen-src", dir.path(), "serve", "x"},
                             dir.file("stderr"));
  ASSERT_TRUE(r.status);
  EXPECT_EQ(WEXITSTATUS(*r.status), 2);
  EXPECT_NE(test::slurp(dir.file("stderr")).find("no mitogen/__init__.py there"),
            std::string::npos);
}

}  // namespace
}  // namespace faultmux
