// faultmux shrink: a planted failure (a SIGKILL of the mux, next to a
// harmless SIGCONT and 8 echo workers) shrinks to the one fault it needs
// (numbered as in the given file), fewer workers, a smaller backlog and
// smaller messages, still fails, is written beside the given file as
// <name>-shrunk.toml described from what is left, and loads with `faultmux
// validate`; a passing scenario, or one that cannot be run, is bad input;
// --legacy-bug reaches the runs and the rerun line. (EAGAIN on the first recv with --legacy-bug
// crash-on-eagain would not do as the needed fault: the legacy listener meets a natural EAGAIN on
// an identity not sent yet, so it fails without the fault too.)
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/scenario.hpp"
#include "harness/shrink.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/sample_scenarios.hpp"

namespace faultmux::test {
namespace {

using testing::HasSubstr;
using testing::Not;
namespace fs = std::filesystem;

// The SIGCONT comes first, so the shrinker also has to keep trying after a
// drop that worked.
const std::string planted = R"(name = "planted"
description = "the mux killed, plus a harmless SIGCONT"
origin = "shrink_test"
timeout_ms = 8000
)" + test::echo_groups(2, 8, 4) +
                            R"(
[[faults]]
kind = "signal"
signal = "SIGCONT"
at_ms = 50

[[faults]]
kind = "signal"
signal = "SIGKILL"
at_ms = 100
)";

std::string without_kill() {
  std::string text = planted;
  return text.substr(0, text.rfind("[[faults]]"));
}

TEST(Shrink, PlantedFailureShrinksToTheFaultItNeeds) {
  run_dir dir;
  std::string file = write_file(dir, "planted.toml", planted);
  std::string out = dir.file("min.toml");
  auto f =
      fault::run_faultmux(dir, {"shrink", file, "--seed", "3", "--out", out}, fault::ms(180000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("shrink run 1/40: as given: fails"));
  // Fault #2 keeps its number once #1 is gone.
  EXPECT_THAT(f.out, HasSubstr("without fault #1 (SIGCONT): fails"));
  EXPECT_THAT(f.out, HasSubstr("without fault #2 (SIGKILL): passes"));
  EXPECT_THAT(f.out, Not(HasSubstr("without fault #1 (SIGKILL)")));
  EXPECT_THAT(f.out, HasSubstr("rerun: faultmux run " + out + " --seed 3\n"));

  scenario s = load_scenario(out);
  ASSERT_EQ(s.faults.size(), 1u);
  EXPECT_EQ(s.faults[0].signal, "SIGKILL");
  EXPECT_EQ(s.faults[0].at_ms, 100);
  EXPECT_LT(s.worker_count(), 10);
  // Renamed and described as what is left; keys not shrunk stay as written.
  EXPECT_EQ(s.name, "planted-shrunk");
  EXPECT_THAT(s.description, HasSubstr("of group good (was 8)"));
  EXPECT_THAT(s.description, HasSubstr("fault #2 (SIGKILL) of 2"));
  EXPECT_THAT(s.description,
              HasSubstr("(shrunk from planted: the mux killed, plus a harmless SIGCONT)"));
  EXPECT_EQ(s.timeout_ms, 8000);
  // The printed scenario is the written one.
  EXPECT_THAT(f.out, HasSubstr(slurp(out)));

  auto v = fault::run_faultmux(dir, {"validate", out});
  EXPECT_TRUE(v.exited(0)) << v.describe();

  // The rerun command still fails.
  auto r = fault::run_faultmux(dir, {"run", out, "--seed", "3"}, fault::ms(60000));
  EXPECT_TRUE(r.exited(1)) << r.describe();
}

// Also: --legacy-bug reaches every run and the rerun line. (Not
// crash-on-eagain: its listener may crash before the serve workers say
// their ids, and a scenario that cannot be set up is not shrunk.)
TEST(Shrink, DefaultOutputIsBesideTheInputNamedShrunk) {
  run_dir dir;
  ASSERT_EQ(::mkdir(dir.file("in").c_str(), 0700), 0);
  ASSERT_EQ(::mkdir(dir.file("elsewhere").c_str(), 0700), 0);
  std::string file = write_file(dir, "in/planted.toml", planted);
  char old[4096];
  ASSERT_NE(::getcwd(old, sizeof(old)), nullptr);
  ASSERT_EQ(::chdir(dir.file("elsewhere").c_str()), 0);
  auto f = fault::run_faultmux(
      dir, {"shrink", "../in/planted.toml", "--legacy-bug", "no-dead-message"}, fault::ms(180000));
  ASSERT_EQ(::chdir(old), 0);
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("written to ../in/planted-shrunk.toml"));
  EXPECT_THAT(f.out, HasSubstr("rerun: faultmux run ../in/planted-shrunk.toml --seed 1 "
                               "--legacy-bug no-dead-message"));
  EXPECT_TRUE(fs::is_empty(dir.file("elsewhere")));
  auto v = fault::run_faultmux(dir, {"validate", dir.file("in/planted-shrunk.toml")});
  EXPECT_TRUE(v.exited(0)) << v.describe();
  EXPECT_EQ(load_scenario(dir.file("in/planted-shrunk.toml")).name, "planted-shrunk");
}

// The target's backlog and limits, and each group's messages and size, are
// dimensions too: none of them matters to a SIGKILL of the mux.
TEST(Shrink, TargetSettingsAndMessageSizesShrinkToo) {
  run_dir dir;
  std::string text = planted;
  text.insert(text.find("[[workers]]"), "[target]\nbacklog = 8\nmax_message_size = 1048576\n\n");
  text.insert(text.find("messages = 4"), "size = 8\n");
  std::string file = write_file(dir, "settings.toml", text);
  std::string out = dir.file("min.toml");
  auto f =
      fault::run_faultmux(dir, {"shrink", file, "--seed", "3", "--out", out}, fault::ms(180000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("target: backlog 8 -> 4: fails"));
  EXPECT_THAT(f.out, HasSubstr("target: max_message_size as default: fails"));
  EXPECT_THAT(f.out, HasSubstr("workers good: size 8 -> 4: fails"));
  scenario s = load_scenario(out);
  EXPECT_EQ(s.target.backlog, 1);
  EXPECT_EQ(s.target.max_message_size, target_spec{}.max_message_size);
  for (const auto& g : s.workers)
    if (g.name == "good") {
      EXPECT_EQ(g.size, 1u);
      EXPECT_EQ(g.messages, 1);
    }
  EXPECT_THAT(s.description, HasSubstr("backlog 1 (was 8)"));
  EXPECT_THAT(s.description, HasSubstr("1 message (was 4), 1 byte each (was 8)"));
}

// What a shrunk scenario says it is, from the loaded given and result alone.
TEST(ShrinkDescription, SaysWhatIsLeftAndWhatItWas) {
  scenario given = parse_scenario(planted, "given.toml");
  given.target.backlog = 20;
  scenario now = given;
  now.workers[1].count = 1;
  now.faults.erase(now.faults.begin());
  now.target.backlog = 1;
  EXPECT_EQ(shrunk_description(given, now, {2}),
            "2 workers of group servers, 1 worker of group good (was 8); fault #2 (SIGKILL) of "
            "2; backlog 1 (was 20) (shrunk from planted: the mux killed, plus a harmless "
            "SIGCONT)");
  now.faults.clear();
  EXPECT_THAT(shrunk_description(given, now, {}), HasSubstr("; none of its 2 faults;"));
  EXPECT_EQ(shrunk_name("planted"), "planted-shrunk");
  EXPECT_EQ(shrunk_name("planted-shrunk"), "planted-shrunk");
}

// Four clients send 0 to 3 bytes of their pid and die; each owes the mux an
// error line. The EAGAIN on each first recv is only a wait for the built-in
// mux, but closes crash-on-eagain's listener at the first client.
const char* short_pid = R"(name = "short-only"
description = "clients send 0, 1, 2 and 3 bytes of their pid and close"
origin = "shrink_test"
timeout_ms = 9000

[[workers]]
name = "short"
count = 4
workload = "hostile"
behave = "short-pid"

[[faults]]
kind = "syscall"
rule = "recv@accepted#1 per-fd -> EAGAIN"

[expect]
errors = [{ pattern = "failed to read remote identity, got [0-3] bytes", min = 4, max = 4 }]
disconnected_groups = ["short"]
)";

// A failure that is a legacy bug's (the scenario passes without the bug)
// shrinks only to scenarios that still pass without it: two short clients
// also fail with the bug, but fail without it too, so the group stays whole.
TEST(Shrink, LegacyBugFailureKeepsWhatTellsTheMuxesApart) {
  run_dir dir;
  std::string file = write_file(dir, "short-only.toml", short_pid);
  std::string out = dir.file("short-only.shrunk.toml");
  auto f = fault::run_faultmux(
      dir, {"shrink", file, "--legacy-bug", "crash-on-eagain", "--out", out}, fault::ms(180000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("passes without the legacy bugs: every smaller one must too"));
  EXPECT_THAT(slurp(out), HasSubstr("count = 4")) << slurp(out);
  auto without = fault::run_faultmux(dir, {"run", out}, fault::ms(60000));
  EXPECT_TRUE(without.exited(0)) << without.describe() << slurp(out);
}

// The fault lands on worker good:3 only. Halving the group to 2 workers
// removes what it lands on: that candidate fails too, but only because its
// fault never fires, which is not the failure being shrunk, so it is not
// kept.
TEST(Shrink, ACandidateWhoseFaultNoLongerFiresIsNotKept) {
  run_dir dir;
  std::string text = without_kill();
  text = text.substr(0, text.rfind("[[faults]]"));  // no SIGCONT either
  text += R"([[faults]]
kind = "syscall"
rule = "recv@accepted peer=good:3 phase=stream #1 per-fd -> EIO"
)";
  std::string file = write_file(dir, "one-worker.toml", text);
  std::string out = dir.file("one-worker.shrunk.toml");
  auto f = fault::run_faultmux(dir, {"shrink", file, "--out", out}, fault::ms(180000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("fails otherwise (faults fired"));
  scenario s = load_scenario(out);
  int good = 0;
  for (const auto& g : s.workers)
    if (g.name == "good") good = g.count;
  EXPECT_GE(good, 4) << f.out;
  auto r = fault::run_faultmux(dir, {"run", out, "-v"}, fault::ms(60000));
  EXPECT_TRUE(r.exited(1)) << r.describe();
  EXPECT_THAT(r.out, HasSubstr("faults fired: pass"));
}

TEST(Shrink, PassingScenarioIsBadInput) {
  run_dir dir;
  std::string file = write_file(dir, "passing.toml", without_kill());
  std::string out = dir.file("min.toml");
  auto f =
      fault::run_faultmux(dir, {"shrink", file, "--seed", "5", "--out", out}, fault::ms(60000));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr(file + " passes with seed 5: nothing to shrink"));
  EXPECT_THAT(f.out, Not(HasSubstr("rerun:")));
  EXPECT_TRUE(slurp(out).empty());

  auto bad = fault::run_faultmux(dir, {"shrink", file, "--legacy-bug", "nope"});
  EXPECT_TRUE(bad.exited(2)) << bad.describe();
  EXPECT_THAT(bad.err, HasSubstr("--legacy-bug nope: no such bug"));
}

// A scenario that cannot be run (its target exits before it listens) is
// not a failure to shrink: every candidate would "fail" the same way and
// the shrinker would converge on a broken scenario.
TEST(Shrink, ScenarioThatCannotRunIsBadInput) {
  run_dir dir;
  std::string text = planted;
  text.insert(text.find("[[workers]]"),
              "[target]\nkind = \"external\"\ncommand = [\"/bin/false\"]\n\n");
  std::string file = write_file(dir, "broken.toml", text);
  std::string out = dir.file("min.toml");
  auto f =
      fault::run_faultmux(dir, {"shrink", file, "--seed", "4", "--out", out}, fault::ms(120000));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("shrink run 1/40: as given: could not run"));
  EXPECT_THAT(f.out, Not(HasSubstr("shrink run 2/")));
  EXPECT_THAT(f.err, HasSubstr(file + " could not be run with seed 4: setup: "));
  EXPECT_THAT(f.out, Not(HasSubstr("rerun:")));
  EXPECT_TRUE(slurp(out).empty());
}

}  // namespace
}  // namespace faultmux::test
