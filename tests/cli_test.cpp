// The command line itself: every subcommand lists all its options in --help,
// --legacy-bug names are checked the same way wherever they are taken, and a
// worker's --fault-at mid-frame:K is bounded by the frame it cuts.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/report_command.hpp"
#include "mux/legacy.hpp"
#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"
#include "wire/protocol.hpp"

namespace faultmux::test {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<std::string> with(std::vector<std::string> args, std::vector<std::string> more) {
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

TEST(Cli, EverySubcommandsHelpListsEachOfItsOptions) {
  run_dir dir;
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> commands{
      {{},
       {"--verbose", "--version", "mux", "worker", "context", "fake-listener", "suite", "report",
        "validate", "new", "run", "mutants", "shrink", "fault"}},
      {{"mux"},
       {"--listen", "--backlog", "--max-message-size", "--output-cap", "--unidirectional",
        "--handshake-timeout-ms", "--shutdown-grace-ms", "--events", "--verbose",
        "--context-fault-at", "--legacy-bug"}},
      {{"worker"},
       {"--connect",
        "--peer",
        "--count",
        "--size",
        "--in-flight",
        "--ack-only",
        "--connect-timeout-ms",
        "--backlog-wait-ms",
        "--reply-timeout-ms",
        "--events",
        "--verbose",
        "--context",
        "--function",
        "--relay-to",
        "--behave",
        "--target",
        "--spoof-id",
        "--hold-ms",
        "--max-message-size",
        "--pid-bytes",
        "--seed",
        "--fault-at"}},
      {{"context"},
       {"--fd", "--context-id", "--parent-ids", "--name", "--max-message-size", "--events",
        "--verbose", "--fault-at", "--fault-target", "--unidirectional", "--legacy-bug",
        "--context-fault-at"}},
      {{"fake-listener"}, {"--listen", "--answer-bytes", "--events"}},
      {{"suite"}, {"--with-mitogen", "--filter"}},
      {{"report"}, {"RESULTS", "--out", "--merge"}},
      {{"validate"}, {"PATH", "--schema", "--reference"}},
      {{"new"}, {"NAME", "--like", "--out"}},
      {{"run"},
       {"PATH", "--seed", "--filter", "--target", "--repeat", "--jobs", "--with-mitogen",
        "--report", "--bundle", "--legacy-bug", "--verbose", "--list", "--grep", "--update-index",
        "--soak"}},
      {{"mutants"}, {"PATH", "--bug", "--verbose"}},
      {{"shrink"}, {"FILE", "--seed", "--legacy-bug", "--target", "--out", "--verbose"}},
      {{"fault"}, {"signal", "nofile", "run"}},
      {{"fault", "signal"}, {"--pid", "--signal", "--after-ms", "--resume-after-ms", "--events"}},
      {{"fault", "nofile"}, {"--pid", "--limit", "--restore-after-ms", "--events"}},
      {{"fault", "run"}, {"--nofile", "--events", "command"}},
  };
  for (const auto& [command, options] : commands) {
    fault::finished f = fault::run_faultmux(dir, with(command, {"--help"}));
    ASSERT_TRUE(f.exited(0)) << f.describe();
    for (const std::string& option : options)
      EXPECT_THAT(f.out, HasSubstr(option)) << "faultmux " << testing::PrintToString(command);
  }
}

// Usage lines name the program as it was invoked, not its path in the build tree.
TEST(Cli, UsageShowsTheInvokedNameNotTheBuildPath) {
  run_dir dir;
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, std::vector<std::string>{"run", "--help"}}) {
    fault::finished f = fault::run_faultmux(dir, args);
    ASSERT_TRUE(f.exited(0)) << f.describe();
    EXPECT_THAT(f.out, HasSubstr("Usage: faultmux "));
    EXPECT_THAT(f.out, Not(HasSubstr("build/")));
  }
}

// mux, context, run and shrink take --legacy-bug, mutants --bug: a name that
// is no bug is refused before anything runs, with one message and exit 2.
TEST(Cli, UnknownLegacyBugGetsTheSameMessageFromEverySubcommand) {
  run_dir dir;
  const std::string missing = dir.file("missing.toml");
  const std::vector<std::pair<std::string, std::vector<std::string>>> commands{
      {"mux", {"mux", "--listen", dir.file("m.sock")}},
      {"context", {"context", "--context-id", "2", "--parent-ids", "0", "--name", "c"}},
      {"run", {"run", missing}},
      {"shrink", {"shrink", missing}},
      {"mutants", {"mutants", missing}},
  };
  for (const auto& [name, args] : commands) {
    const std::string option = name == "mutants" ? "--bug" : "--legacy-bug";
    fault::finished f = fault::run_faultmux(dir, with(args, {option, "no-such-bug"}));
    EXPECT_TRUE(f.exited(2)) << f.describe();
    EXPECT_EQ(f.err, "faultmux " + name + ": " + option +
                         " no-such-bug: no such bug; known: " + legacy_bugs::known_names() + "\n");
    EXPECT_EQ(f.out, "");
  }
}

// Every name is checked, not only the first.
TEST(Cli, LegacyBugChecksEveryNameGiven) {
  run_dir dir;
  fault::finished f = fault::run_faultmux(dir, {"run", dir.file("missing.toml"), "--legacy-bug",
                                                "small-backlog", "--legacy-bug", "nope"});
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_THAT(f.err, HasSubstr("faultmux run: --legacy-bug nope: no such bug"));
}

// A number out of range is said in words, naming the option and the value.
TEST(Cli, ANumberOutOfRangeSaysWhatItMustBe) {
  run_dir dir;
  fault::finished zero =
      fault::run_faultmux(dir, {"repro", dir.file("e.log"), "--budget-min", "0"});
  EXPECT_TRUE(zero.exited(2)) << zero.describe();
  EXPECT_THAT(zero.err, HasSubstr("--budget-min: must be more than 0, got 0"));
  fault::finished negative = fault::run_faultmux(
      dir, {"mux", "--listen", dir.file("m.sock"), "--shutdown-grace-ms", "-3"});
  EXPECT_TRUE(negative.exited(2)) << negative.describe();
  EXPECT_THAT(negative.err, HasSubstr("--shutdown-grace-ms: must be 0 or more, got -3"));
  fault::finished words =
      fault::run_faultmux(dir, {"repro", dir.file("e.log"), "--budget-min", "x"});
  EXPECT_TRUE(words.exited(2)) << words.describe();
  EXPECT_THAT(words.err, HasSubstr("must be a number, got x"));
}

// mid-frame:K cuts a frame of a header and --size body bytes: K may be at
// most one byte short of it.
TEST(Cli, MidFrameFaultIsBoundedByTheHeaderAndBodySize) {
  run_dir dir;
  const std::size_t size = 10;
  const std::size_t frame = header_size + size;
  const std::vector<std::string> worker{"worker", "--connect",          dir.file("none.sock"),
                                        "--size", std::to_string(size), "--connect-timeout-ms",
                                        "100"};
  const std::string too_far = "mid-frame:" + std::to_string(frame) + ":SIGKILL";
  fault::finished f = fault::run_faultmux(dir, with(worker, {"--fault-at", too_far}));
  EXPECT_TRUE(f.exited(2)) << f.describe();
  EXPECT_EQ(f.err, "faultmux worker: --fault-at " + too_far +
                       ": K must be below the frame's length, " + std::to_string(frame) + " (" +
                       std::to_string(header_size) + " header bytes + --size 10): use K from 1 " +
                       "to " + std::to_string(frame - 1) + ", or a larger --size\n");

  // The last byte short of the frame is accepted: the worker goes on to
  // connect, and finds no mux there.
  const std::string last = "mid-frame:" + std::to_string(frame - 1) + ":SIGKILL";
  f = fault::run_faultmux(dir, with(worker, {"--fault-at", last}));
  EXPECT_TRUE(f.exited(3)) << f.describe();
  EXPECT_THAT(f.err, Not(HasSubstr("K must be below")));
  EXPECT_THAT(f.err, HasSubstr("cannot connect"));
}

// The suite's reports/latest/ with a bounded history: each run is copied in
// (two started in the same second both kept), the oldest beyond `keep` go.
TEST(ReportHistory, KeepsTheNewestRunsAndBothOfASecond) {
  run_dir dir;
  namespace fs = std::filesystem;
  nlohmann::json doc;
  std::ifstream(FAULTMUX_SOURCE_DIR "/tests/reports/fixture-results.json") >> doc;
  const std::string latest = dir.file("latest"), history = dir.file("history");
  fs::create_directories(latest);
  auto render = [&](const std::string& started, std::size_t keep) {
    doc["run"]["started"] = started;
    std::ofstream(latest + "/results.json") << doc.dump();
    std::string index;
    EXPECT_EQ(render_with_history(latest, history, keep, &index), "");
    EXPECT_EQ(index, latest + "/index.html");
  };
  auto files = [&] {
    std::vector<std::string> names;
    for (const auto& d : fs::directory_iterator(history)) names.push_back(d.path().filename());
    std::sort(names.begin(), names.end());
    return names;
  };
  render("2026-01-01T00:00:01Z", 10);
  render("2026-01-01T00:00:01Z", 10);
  EXPECT_EQ(files(),
            (std::vector<std::string>{"2026-01-01T00:00:01Z-2.json", "2026-01-01T00:00:01Z.json"}));
  render("2026-01-01T00:00:03Z", 2);
  render("2026-01-01T00:00:02Z", 2);
  EXPECT_EQ(files(),
            (std::vector<std::string>{"2026-01-01T00:00:02Z.json", "2026-01-01T00:00:03Z.json"}));
  EXPECT_TRUE(fs::exists(latest + "/index.html"));
}

}  // namespace
}  // namespace faultmux::test
