// Contexts and calls with a real Mitogen 0.3.3 (Debian's python3-mitogen,
// run with /usr/bin/python3): a Mitogen client gets a context from `faultmux
// mux`'s faultmux.ContextService and calls the C++ built-ins in it with an
// ordinary context.call(). The Python side is tests/interop/context_calls.py.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using test::fields;
using test::py_timeout;
using test::python;
using test::run_dir;

class context_interop : public testing::Test {
 protected:
  void SetUp() override {
    // tools/install-deps installs python3-mitogen: without it the setup is broken.
    ASSERT_TRUE(test::mitogen_version())
        << test::python << " cannot import mitogen: run tools/install-deps";
  }
  run_dir dir_;
};

// Every argument type Mitogen pickles reaches the C++ context and comes back
// equal and of the same type; results and CallErrors are what Mitogen's
// context.call() expects; the service gives the same context twice.
TEST_F(context_interop, mitogen_calls_cpp_builtins_in_a_context_from_the_service) {
  test::mux_process mux(dir_);
  auto r = test::run_program({python, "-B", test::interop_script("context_calls.py"),
                              mux.socket_path(), "calls", py_timeout},
                             dir_.file("py.stderr"));
  std::string why = r.describe(test::slurp(dir_.file("py.stderr")));
  ASSERT_TRUE(r.status && WIFEXITED(*r.status) && WEXITSTATUS(*r.status) == 0) << why;
  ASSERT_EQ(r.lines.size(), 2u) << why;
  EXPECT_EQ(r.lines[1], "ok echoed=56") << why;

  // The context Python called is the one the mux started, under that name.
  auto f = fields(r.lines[0]);
  auto started = mux.events("child_start");
  ASSERT_EQ(started.size(), 1u);
  EXPECT_EQ(started[0].value("child", ""), "calls");
  EXPECT_EQ(std::to_string(started[0]["child_pid"].get<long>()), f["pid"]) << r.lines[0];
  auto ready = mux.events("context_ready");
  ASSERT_EQ(ready.size(), 1u);
  EXPECT_EQ(std::to_string(ready[0]["context_id"].get<long>()), f["context_id"]) << r.lines[0];

  // Nothing went wrong on the way: no error logged by the mux or the context.
  for (const auto& e : mux.events("log"))
    EXPECT_TRUE(e.value("level", "") != "error" && e.value("level", "") != "critical") << e.dump();
  auto served = mux.events("call_served");
  EXPECT_GT(served.size(), 150u);

  mux.proc().signal(SIGTERM);
  auto st = mux.proc().wait(20s);
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << (st ? describe_status(*st) : "still running") << "\n"
      << mux.stderr_text();
}

}  // namespace
}  // namespace faultmux
