// Keyword arguments for the built-ins from a real Mitogen 0.3.3 (Debian's
// python3-mitogen): context.call(echo, value=...) binds as in Python, and a
// bad keyword is a CallError naming it. The Python side is
// tests/interop/context_kwargs.py.
#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

using namespace std::chrono_literals;

TEST(BuiltinKwargsInterop, MitogenCallsEveryBuiltinWithKeywordArguments) {
  ASSERT_TRUE(test::mitogen_version())
      << test::python << " cannot import mitogen: run tools/install-deps";
  test::run_dir dir;
  test::mux_process mux(dir);
  auto r = test::run_program({test::python, "-B", test::interop_script("context_kwargs.py"),
                              mux.socket_path(), "kw", test::py_timeout},
                             dir.file("py.stderr"));
  std::string why = r.describe(test::slurp(dir.file("py.stderr")));
  ASSERT_TRUE(r.status && WIFEXITED(*r.status) && WEXITSTATUS(*r.status) == 0) << why;
  ASSERT_EQ(r.lines.size(), 1u) << why;
  EXPECT_EQ(r.lines[0], "ok calls=16") << why;

  // log(levelno=, message=) reached the context's logger, forwarded to the mux.
  EXPECT_NE(mux.stderr_text().find("kwargs reached log"), std::string::npos) << mux.stderr_text();
  EXPECT_NE(mux.stderr_text().find("mixed reached log"), std::string::npos) << mux.stderr_text();
  // exit(code=7) ended its context with that status.
  auto gone = mux.wait_event(
      [](const test::json& e) {
        return e.value("event", "") == "child_exit" && e.value("child", "") == "kw-exit";
      },
      10s);
  ASSERT_TRUE(gone) << mux.stderr_text();
  int status = (*gone)["status"].get<int>();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 7) << describe_status(status);

  mux.proc().signal(SIGTERM);
  auto st = mux.proc().wait(20s);
  EXPECT_TRUE(st && WIFEXITED(*st) && WEXITSTATUS(*st) == 0)
      << (st ? describe_status(*st) : "still running") << "\n"
      << mux.stderr_text();
}

}  // namespace
}  // namespace faultmux
