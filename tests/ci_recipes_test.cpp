// The CI recipes in docs/ci/: every faultmux command they run exists, with
// every option they give it (tests/ci/check_recipes.py reads the YAML and
// asks `faultmux SUBCOMMAND --help`); a recipe with a wrong option fails the
// check, naming it.
#include <sys/wait.h>

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "tests/support/python_program.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux {
namespace {

const std::string source = FAULTMUX_SOURCE_DIR;

test::finished check(const std::vector<std::string>& recipes) {
  std::vector<std::string> argv{"/usr/bin/python3", source + "/tests/ci/check_recipes.py",
                                test::binary(), source + "/faultmux"};
  argv.insert(argv.end(), recipes.begin(), recipes.end());
  return test::run_program(argv);
}

TEST(CiRecipes, EveryCommandTheyRunExistsWithItsOptions) {
  auto r = check({source + "/docs/ci/github-actions.yml", source + "/docs/ci/gitlab-ci.yml"});
  EXPECT_TRUE(r.exited_zero()) << r.describe();
  std::string all;
  for (const auto& l : r.lines) all += l + "\n";
  // The suite, its report, the sharded exploration and the merge, in both.
  for (const char* cmd : {"github-actions.yml: faultmux run scenarios --report",
                          "github-actions.yml: faultmux explore scenarios/plain-echo.toml",
                          "gitlab-ci.yml: faultmux explore scenarios/plain-echo.toml",
                          "gitlab-ci.yml: faultmux report explore-*/results.json -o"})
    EXPECT_NE(all.find(cmd), std::string::npos) << cmd << "\n" << all;
}

TEST(CiRecipes, AWrongOptionOrSubcommandFailsTheCheck) {
  test::run_dir dir;
  std::ofstream(dir.file("bad.yml")) << "suite:\n  script:\n"
                                        "    - ./faultmux run scenarios --no-such-option\n"
                                        "    - ./faultmux nosuchcommand\n"
                                        "    - ./faultmux test\n";
  auto r = check({dir.file("bad.yml")});
  ASSERT_TRUE(r.status);
  EXPECT_EQ(WEXITSTATUS(*r.status), 1) << r.describe();
  std::string all;
  for (const auto& l : r.lines) all += l + "\n";
  EXPECT_NE(all.find("faultmux run has no option --no-such-option"), std::string::npos) << all;
  EXPECT_NE(all.find("no subcommand 'nosuchcommand'"), std::string::npos) << all;
  EXPECT_NE(all.find("3 command(s) checked, 2 problem(s)"), std::string::npos) << all;
}

}  // namespace
}  // namespace faultmux
