// find_package(faultmux) from an installed prefix: a consumer project of
// its own registers scenario files as ctest tests with
// faultmux_add_scenarios and runs them.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/install_support.hpp"
#include "tests/support/sample_scenarios.hpp"

namespace faultmux::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A consumer's scenario against "its own mux": an external command, here
// the installed faultmux's `mux` subcommand.
std::string own_mux_scenario(const std::string& faultmux) {
  return R"(name = "own-mux-echo"
description = "echo workers through the consumer's own mux"
origin = "a C++ project that tests its mux with faultmux_add_scenarios"
seed = 1
timeout_ms = 9000

[target]
kind = "external"
command = [")" +
         faultmux + R"(", "mux", "--listen", "{socket}", "--backlog", "{backlog}"]
)" + test::echo_groups(2, 2, 5);
}

const char* const consumer_cmakelists = R"(cmake_minimum_required(VERSION 3.25)
project(consumer NONE)
enable_testing()
find_package(faultmux 0.2 REQUIRED)
if(NOT TARGET faultmux::shim OR NOT TARGET faultmux::faultmux)
  message(FATAL_ERROR "faultmux::shim and faultmux::faultmux are not targets")
endif()
get_target_property(shim faultmux::shim LOCATION)
message(STATUS "consumer: faultmux ${faultmux_VERSION} at ${faultmux_EXECUTABLE}, shim ${shim}")
faultmux_add_scenarios(scenarios TARGET_COMMAND builtin LABELS faultmux consumer)
)";

TEST(CMakePackage, AConsumerRunsItsScenariosThroughFaultmuxAddScenarios) {
  run_dir dir;
  const std::string prefix = dir.file("prefix"), src = dir.file("consumer");
  ASSERT_EQ(install::install_into(dir, prefix), "");
  fs::create_directories(src + "/scenarios");
  std::ofstream(src + "/CMakeLists.txt") << consumer_cmakelists;
  fs::copy_file(prefix + "/share/faultmux/scenarios/plain-echo.toml",
                src + "/scenarios/plain-echo.toml");
  std::ofstream(src + "/scenarios/own-mux-echo.toml") << own_mux_scenario(prefix + "/bin/faultmux");

  auto configured =
      install::run_program(dir, {FAULTMUX_CMAKE_COMMAND, "-G", "Ninja", "-S", src, "-B",
                                 dir.file("build"), "-DCMAKE_PREFIX_PATH=" + prefix});
  ASSERT_TRUE(configured.exited(0)) << configured.describe();
  EXPECT_THAT(configured.out,
              HasSubstr("consumer: faultmux " + install::cmake_version() + " at " + prefix +
                        "/bin/faultmux, shim " + prefix + "/lib/faultmux/libfaultmux_shim.so"));

  auto listed = install::run_program(
      dir, {FAULTMUX_CTEST_COMMAND, "--test-dir", dir.file("build"), "-N", "-L", "^consumer$"});
  ASSERT_TRUE(listed.exited(0)) << listed.describe();
  EXPECT_THAT(listed.out, HasSubstr("Total Tests: 2"));

  auto tested = install::run_without_trees(
      dir, dir.path(),
      install::sh_quote(FAULTMUX_CTEST_COMMAND) + " --test-dir " +
          install::sh_quote(dir.file("build")) + " --output-on-failure\n");
  ASSERT_TRUE(tested.exited(0)) << tested.describe();
  EXPECT_THAT(tested.out, HasSubstr("faultmux.own-mux-echo"));
  EXPECT_THAT(tested.out, HasSubstr("faultmux.plain-echo"));
  EXPECT_THAT(tested.out, HasSubstr("100% tests passed, 0 tests failed out of 2"));
}

}  // namespace
}  // namespace faultmux::test
