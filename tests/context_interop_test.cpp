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

#include "harness/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;
using test::run_dir;

const std::string python = "/usr/bin/python3";
// The Python program's own deadline (s); the C++ side waits a little longer
// so that a Python timeout is reported by Python.
const std::string py_timeout = "60";
constexpr auto wait_limit = 90s;

std::string script(const std::string& name) {
  return std::string(FAULTMUX_SOURCE_DIR) + "/tests/interop/" + name;
}

std::map<std::string, std::string> fields(const std::string& line) {
  std::map<std::string, std::string> out;
  std::istringstream in(line);
  std::string word;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq != std::string::npos) out[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return out;
}

struct finished {
  std::optional<int> status;
  std::vector<std::string> lines;
  std::string describe(const std::string& stderr_text) const {
    std::string s = status ? describe_status(*status) : "did not exit in time";
    for (const auto& l : lines) s += "\n  stdout: " + l;
    return s + "\n  stderr: " + stderr_text;
  }
};

// Runs argv to its end (bounded), stdout lines kept, stderr to a file.
finished run(const std::vector<std::string>& argv, const std::string& stderr_path) {
  auto p = test::spawn_logged(argv, stderr_path);
  finished r;
  auto end = std::chrono::steady_clock::now() + wait_limit;
  auto left = [&] {
    return std::max(0ms, std::chrono::duration_cast<std::chrono::milliseconds>(
                             end - std::chrono::steady_clock::now()));
  };
  while (auto line = p.read_line(left())) r.lines.push_back(*line);
  r.status = p.wait(left());
  return r;
}

class context_interop : public testing::Test {
 protected:
  static void SetUpTestSuite() {
    run_dir d;
    auto r =
        run({python, "-B", "-c", "import mitogen.core, mitogen.unix; print(mitogen.__version__)"},
            d.file("probe.stderr"));
    mitogen_ok_ = r.status && WIFEXITED(*r.status) && WEXITSTATUS(*r.status) == 0;
  }
  void SetUp() override {
    // tools/install-deps installs python3-mitogen: without it the setup is broken.
    ASSERT_TRUE(mitogen_ok_) << python << " cannot import mitogen: run tools/install-deps";
  }
  static inline bool mitogen_ok_ = false;
  run_dir dir_;
};

// Every argument type Mitogen pickles reaches the C++ context and comes back
// equal and of the same type; results and CallErrors are what Mitogen's
// context.call() expects; the service gives the same context twice.
TEST_F(context_interop, mitogen_calls_cpp_builtins_in_a_context_from_the_service) {
  test::mux_process mux(dir_);
  auto r = run({python, "-B", script("context_calls.py"), mux.socket_path(), "calls", py_timeout},
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
