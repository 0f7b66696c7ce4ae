// faultmux mutants: a scenario that fails with a legacy bug (and passes
// without) catches it; a scenario that declares a bug it does not catch
// fails the run with exit 1 and a line naming it; faultmux run --legacy-bug
// reaches the mux (its start warning) and the rerun line.
#include <stdlib.h>

#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "roles/process.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"

namespace faultmux::test {
namespace {

using testing::HasSubstr;

// Small: EAGAIN on every accepted socket's first recv; the legacy listener
// dies on it, so the echo workers never get their peers.
const std::string catcher = R"(name = "catcher"
description = "EAGAIN on the first recv of each accepted socket"
origin = "mutants_test"
timeout_ms = 8000
catches = ["crash-on-eagain"]
)" + test::echo_groups(2, 4, 5) +
                            R"(
[[faults]]
kind = "syscall"
rule = "recv@accepted#1 per-fd -> EAGAIN"
)";

// Planted: a plain echo run claims a bug it cannot see.
const std::string planted = R"(name = "planted"
description = "a plain echo run that claims the small backlog"
origin = "mutants_test"
timeout_ms = 8000
catches = ["small-backlog"]
)" + test::echo_groups(2, 2, 5);

TEST(Mutants, ACaughtBugPasses) {
  run_dir dir;
  auto f = fault::run_faultmux(
      dir, {"mutants", write_file(dir, "catcher.toml", catcher), "--bug", "crash-on-eagain"},
      fault::ms(60000));
  EXPECT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("catcher without bugs: pass"));
  EXPECT_THAT(f.out, HasSubstr("catcher with crash-on-eagain: fails, caught"));
  EXPECT_THAT(f.out, HasSubstr("ok   crash-on-eagain: caught by catcher"));
}

TEST(Mutants, DeclaredButNotCaughtFails) {
  run_dir dir;
  auto f = fault::run_faultmux(dir,
                               {"mutants", write_file(dir, "catcher.toml", catcher),
                                write_file(dir, "planted.toml", planted), "--bug",
                                "crash-on-eagain", "--bug", "small-backlog"},
                               fault::ms(90000));
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("ok   crash-on-eagain: caught by catcher"));
  EXPECT_THAT(f.out, HasSubstr("FAIL planted declares catches = \"small-backlog\" but does not "
                               "catch it (it passes with --legacy-bug small-backlog)"));
  EXPECT_THAT(f.out, HasSubstr("FAIL small-backlog: caught by no scenario"));
  // The matrix: the planted row shows its declared bug missed.
  EXPECT_THAT(f.out, testing::ContainsRegex("planted +- +missed \\(declared\\)"));
}

TEST(Mutants, UnknownBugInCatchesIsBadInput) {
  run_dir dir;
  std::string text = std::string(planted);
  text.replace(text.find("small-backlog"), 13, "no-such-bug");
  auto f = fault::run_faultmux(dir, {"mutants", write_file(dir, "bad.toml", text.c_str())});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("catches \"no-such-bug\": no such bug"));
}

// -v keeps the failed run's directory (under TMPDIR, here the test's own),
// where the mux's stderr holds its start warning naming the bug.
TEST(Mutants, RunPassesLegacyBugToTheMux) {
  run_dir dir;
  std::string file = write_file(dir, "catcher.toml", catcher);
  const char* old = ::getenv("TMPDIR");
  std::string saved = old ? old : "";
  ::setenv("TMPDIR", dir.path().c_str(), 1);
  auto f = fault::run_faultmux(dir, {"run", file, "--legacy-bug", "crash-on-eagain", "-v"});
  if (old)
    ::setenv("TMPDIR", saved.c_str(), 1);
  else
    ::unsetenv("TMPDIR");
  EXPECT_TRUE(f.exited(1)) << f.describe();
  EXPECT_THAT(f.out,
              HasSubstr("rerun: faultmux run " + file + " --seed 1 --legacy-bug crash-on-eagain"));
  auto at = f.out.find("run directory kept: ");
  ASSERT_NE(at, std::string::npos) << f.out;
  std::string kept = f.out.substr(at + 20, f.out.find('\n', at) - at - 20);
  EXPECT_THAT(slurp(kept + "/mux.stderr"),
              HasSubstr("legacy bugs enabled on purpose, this mux fails like old Mitogen: "
                        "crash-on-eagain"));

  auto bad = fault::run_faultmux(dir, {"run", file, "--legacy-bug", "nope"});
  EXPECT_TRUE(bad.exited(2)) << bad.describe();
  EXPECT_THAT(bad.err, HasSubstr("--legacy-bug nope: no such bug"));
}

// Ctrl-C while a scenario runs: it is stopped and reaped, the partial
// matrix is shown, and the run says it was interrupted rather than judging.
TEST(Mutants, CtrlCStopsWithoutAVerdict) {
  run_dir dir, tmp;
  std::string text = std::string(planted);
  text.replace(text.find("timeout_ms = 8000"), 17, "timeout_ms = 60000");
  text += "fault_at = \"connected:SIGSTOP\"\n";  // the good workers hang
  std::string file = write_file(dir, "hung.toml", text.c_str());
  child_process p = child_process::spawn(
      {"/usr/bin/env", "TMPDIR=" + tmp.path(), binary(), "mutants", file, "--bug", "small-backlog"},
      true);
  ASSERT_TRUE(eventually(
      [&] {
        for (const auto& e : std::filesystem::directory_iterator(tmp.path()))
          if (std::filesystem::exists(e.path() / "worker-good-1.stderr")) return true;
        return false;
      },
      fault::ms(20000)));
  p.signal(SIGINT);
  std::string out;
  while (auto line = p.read_line(fault::ms(20000))) out += *line + "\n";
  auto status = p.wait(fault::ms(20000));
  ASSERT_TRUE(status && WIFEXITED(*status)) << out;
  EXPECT_EQ(WEXITSTATUS(*status), 130) << out;
  EXPECT_THAT(out, HasSubstr("interrupted"));
  EXPECT_THAT(out, testing::Not(HasSubstr("caught by no scenario")));
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

}  // namespace
}  // namespace faultmux::test
