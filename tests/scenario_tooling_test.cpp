// The commands around scenario files, as a user runs them: `validate` reports
// every error of a file and takes directories, `new` writes a file that
// validates and never overwrites one, and `run --list --grep` finds a
// scenario from a log line.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include "harness/scenario.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

struct shell_result {
  int status = -1;
  std::string out;  // stdout and stderr
};

// `faultmux ARGS` (ARGS already quoted for the shell), run from `cwd`.
shell_result faultmux(const std::string& args, const std::string& cwd = ".") {
  const std::string cmd = "cd '" + cwd + "' && '" + test::binary() + "' " + args + " 2>&1";
  shell_result r;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[4096];
  while (p && std::fgets(buf, sizeof buf, p)) r.out += buf;
  const int st = p ? pclose(p) : -1;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

int lines_matching(const std::string& text, const std::regex& re) {
  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) n += std::regex_search(line, re) ? 1 : 0;
  return n;
}

const char* good = R"(name = "fine"
description = "d"
origin = "docs/field-failures.md F1; o"

[[workers]]
name = "good"
)";

// Five mistakes in five places: an unknown key, a wrong type, a value out of
// range, an unknown fault kind, a regex that does not compile.
const char* five_mistakes = R"(name = "five"
description = "d"
origin = "o"
colour = "blue"

[target]
backlog = -3

[[workers]]
name = "good"
count = "many"

[[faults]]
kind = "cosmic-ray"

[expect]
allowed_errors = ["(unclosed"]
)";

TEST(ValidateCommand, ReportsEveryErrorOfAFileWithItsPlace) {
  test::run_dir dir;
  std::ofstream(dir.file("five.toml")) << five_mistakes;
  auto r = faultmux("validate '" + dir.file("five.toml") + "'");
  EXPECT_EQ(r.status, 2) << r.out;
  const std::string f = dir.file("five.toml");
  for (const char* at :
       {":4:1: unknown key 'colour'", ":7:11: 'backlog' in [target] must be",
        ":11:9: 'count' in [[workers]] must be an integer", ":14:8: fault kind must be", ":17:"})
    EXPECT_NE(r.out.find(f + at), std::string::npos) << at << "\n" << r.out;
  EXPECT_EQ(lines_matching(r.out, std::regex("^" + f + R"(:\d+:\d+: )")), 5) << r.out;
}

TEST(ValidateCommand, TakesDirectoriesAsRunDoes) {
  test::run_dir dir;
  std::ofstream(dir.file("a.toml")) << good;
  std::ofstream(dir.file("notes.txt")) << "not a scenario";
  auto ok = faultmux("validate '" + dir.path() + "'");
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("ok " + dir.file("a.toml")), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("notes.txt"), std::string::npos) << ok.out;
  EXPECT_EQ(ok.out.find("needs 'name'"), std::string::npos) << ok.out;

  std::ofstream(dir.file("b.toml")) << five_mistakes;
  auto bad = faultmux("validate '" + dir.path() + "'");
  EXPECT_EQ(bad.status, 2) << bad.out;
  EXPECT_NE(bad.out.find("ok " + dir.file("a.toml")), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find(dir.file("b.toml") + ":4:1:"), std::string::npos) << bad.out;
}

TEST(ValidateCommand, PrintsTheSchema) {
  auto r = faultmux("validate --schema");
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("\"$schema\": \"http://json-schema.org/draft-07/schema#\""),
            std::string::npos)
      << r.out.substr(0, 400);
}

TEST(NewCommand, WritesATemplateThatValidates) {
  test::run_dir dir;
  auto r = faultmux("new my-storm", dir.path());
  EXPECT_EQ(r.status, 0) << r.out;
  const std::string file = dir.file("scenarios/my-storm.toml");
  const std::string text = test::slurp(file);
  EXPECT_NE(text.find("# count = 1  #"), std::string::npos) << text;
  EXPECT_NE(text.find("# [[faults]]"), std::string::npos) << text;
  EXPECT_NE(text.find("# backlog = 0  #"), std::string::npos) << text;
  scenario s;
  ASSERT_NO_THROW(s = load_scenario(file)) << text;
  EXPECT_EQ(s.name, "my-storm");
  auto v = faultmux("validate '" + file + "'");
  EXPECT_EQ(v.status, 0) << v.out;
}

TEST(NewCommand, RefusesToOverwrite) {
  test::run_dir dir;
  std::ofstream(dir.file("mine.toml")) << "keep me\n";
  auto r = faultmux("new mine --out '" + dir.file("mine.toml") + "'");
  EXPECT_EQ(r.status, 2) << r.out;
  EXPECT_NE(r.out.find("already exists"), std::string::npos) << r.out;
  EXPECT_EQ(test::slurp(dir.file("mine.toml")), "keep me\n");
}

TEST(NewCommand, LikeCopiesAScenarioUnderTheNewName) {
  test::run_dir dir;
  auto r = faultmux("new my-epipe --like exit-after-pid --out '" + dir.file("e.toml") + "'");
  ASSERT_EQ(r.status, 0) << r.out;
  scenario copy = load_scenario(dir.file("e.toml"));
  scenario original =
      load_scenario(std::string(FAULTMUX_SOURCE_DIR) + "/scenarios/exit-after-pid.toml");
  EXPECT_EQ(copy.name, "my-epipe");
  EXPECT_EQ(copy.description, original.description);
  EXPECT_EQ(copy.worker_count(), original.worker_count());
  EXPECT_EQ(copy.catches, original.catches);
}

TEST(RunList, GrepFindsTheScenarioOfALogLine) {
  auto r = faultmux("run --list --grep 'remote identity'");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("eagain-first-recv\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("origin: docs/field-failures.md F4;"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("plain-echo\n"), std::string::npos) << r.out;
  // The whole line, as it was logged, is matched by the scenarios' regexes.
  auto line = faultmux(
      "run --list --grep 'listener: failed to read remote identity: [Errno 11] Resource "
      "temporarily unavailable'");
  EXPECT_EQ(line.status, 0) << line.out;
  EXPECT_NE(line.out.find("eagain-first-recv\n"), std::string::npos) << line.out;
  auto none = faultmux("run --list --grep 'no scenario says this'");
  EXPECT_EQ(none.status, 1) << none.out;
}

TEST(RunList, ListsEveryScenarioWithoutAPath) {
  auto r = faultmux("run --list");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("plain-echo\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("short-pid\n"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace faultmux
