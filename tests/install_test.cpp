// faultmux installed with `cmake --install`: the layout, --version, and an
// installed faultmux that runs scenarios and the suite from a directory
// outside the checkout with the checkout and the build tree out of reach.
#include <filesystem>
#include <fstream>
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "harness/install_paths.hpp"
#include "harness/version.hpp"
#include "tests/support/install_support.hpp"

namespace faultmux::test {
namespace {

namespace fs = std::filesystem;
using install::ms;
using install::sh_quote;
using ::testing::HasSubstr;

// A prefix with only the directories find_install_paths looks at.
void fake_prefix(const std::string& prefix) {
  fs::create_directories(prefix + "/bin");
  fs::create_directories(prefix + "/share/faultmux/scenarios");
  std::ofstream(prefix + "/bin/faultmux") << "";
}

TEST(InstallPaths, AnInstalledBinaryUsesItsPrefixOnly) {
  run_dir dir;
  fake_prefix(dir.file("usr"));
  const install_paths p = find_install_paths(dir.file("usr/bin/faultmux"));
  EXPECT_TRUE(p.installed);
  EXPECT_EQ(p.shim, dir.file("usr/lib/faultmux/libfaultmux_shim.so"));
  EXPECT_EQ(p.data_dir, dir.file("usr/share/faultmux"));
  EXPECT_EQ(p.report_dir, "reports");
  for (const std::string& path : {p.shim, p.data_dir}) {
    EXPECT_THAT(path, ::testing::Not(HasSubstr(install::build_dir()))) << path;
    EXPECT_THAT(path, ::testing::Not(HasSubstr(install::source_dir()))) << path;
  }
}

TEST(InstallPaths, TheBuildTreeUsesTheBuiltShimAndTheCheckout) {
  const install_paths p = find_install_paths(binary());
  EXPECT_FALSE(p.installed);
  EXPECT_TRUE(fs::exists(p.shim)) << p.shim;
  EXPECT_EQ(fs::path(p.shim).filename(), "libfaultmux_shim.so");
  EXPECT_EQ(p.data_dir, install::source_dir());
  EXPECT_EQ(p.report_dir, install::source_dir() + "/reports");
  // A bin/ without share/faultmux/ beside it is not an installation.
  run_dir dir;
  fs::create_directories(dir.file("bin"));
  EXPECT_FALSE(find_install_paths(dir.file("bin/faultmux")).installed);
}

// The workers' own binary is used when it sits beside faultmux, executable.
TEST(InstallPaths, TheSmallWorkerIsTheOneBesideTheBinary) {
  EXPECT_EQ(find_install_paths(binary()).small_worker,
            (fs::path(binary()).parent_path() / "faultmux-worker").string());
  run_dir dir;
  fake_prefix(dir.file("usr"));
  EXPECT_EQ(find_install_paths(dir.file("usr/bin/faultmux")).small_worker, "");
  std::ofstream(dir.file("usr/bin/faultmux-worker")) << "";
  EXPECT_EQ(find_install_paths(dir.file("usr/bin/faultmux")).small_worker, "");  // not executable
  fs::permissions(dir.file("usr/bin/faultmux-worker"), fs::perms::owner_exec,
                  fs::perm_options::add);
  EXPECT_EQ(find_install_paths(dir.file("usr/bin/faultmux")).small_worker,
            dir.file("usr/bin/faultmux-worker"));
}

TEST(Version, PrintsTheCMakeProjectVersionAndTheRevision) {
  run_dir dir;
  auto f = install::run_program(dir, {binary(), "--version"});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_EQ(f.out, "faultmux " + faultmux_version_line() + "\n");
  EXPECT_EQ(faultmux_version(), install::cmake_version());
  EXPECT_TRUE(std::regex_match(
      f.out, std::regex(R"(faultmux \d+\.\d+\.\d+ \(git ([0-9a-f]{12}|unknown)\)\n)")))
      << f.out;
}

TEST(Version, ResultsJsonNamesTheVersion) {
  run_dir dir;
  auto f = install::run_program(
      dir, {binary(), "run", install::source_dir() + "/scenarios/plain-echo.toml", "--report",
            dir.file("report")});
  ASSERT_TRUE(f.exited(0)) << f.describe();
  auto doc = nlohmann::json::parse(slurp(dir.file("report/results.json")));
  EXPECT_EQ(doc["run"]["faultmux_version"], faultmux_version_line());
}

TEST(Install, PutsEachFileWhereTheInstalledBinaryLooks) {
  run_dir dir;
  const std::string prefix = dir.file("prefix");
  ASSERT_EQ(install::install_into(dir, prefix), "");
  for (const char* rel :
       {"bin/faultmux", "lib/faultmux/libfaultmux_shim.so",
        "share/faultmux/scenarios/mitogen_mux.py", "share/faultmux/scenarios/mitogen_client.py",
        "share/doc/faultmux/README.md", "share/doc/faultmux/docs/ci/gitlab-ci.yml",
        "share/doc/faultmux/docs/install.md", "lib/cmake/faultmux/faultmuxConfig.cmake",
        "lib/cmake/faultmux/faultmuxConfigVersion.cmake"})
    EXPECT_TRUE(fs::is_regular_file(prefix + "/" + rel)) << rel;
  int scenarios = 0;
  for (const auto& e : fs::directory_iterator(install::source_dir() + "/scenarios")) {
    if (e.path().extension() != ".toml") continue;
    ++scenarios;
    EXPECT_TRUE(
        fs::is_regular_file(prefix + "/share/faultmux/scenarios/" + e.path().filename().string()))
        << e.path();
  }
  EXPECT_GT(scenarios, 10);
  auto f = install::run_program(dir, {prefix + "/bin/faultmux", "--version"});
  EXPECT_TRUE(f.exited(0)) << f.describe();
  EXPECT_EQ(f.out, "faultmux " + faultmux_version_line() + "\n");
}

// The installed faultmux, from a directory of its own, with the checkout
// and the build tree hidden: a scenario with syscall faults (the shim from
// PREFIX/lib/faultmux) and `suite --filter` (scenarios from
// PREFIX/share/faultmux, reports under the working directory).
TEST(Install, RunsScenariosAndTheSuiteWithoutTheCheckout) {
  run_dir dir;
  const std::string prefix = dir.file("prefix"), work = dir.file("work");
  ASSERT_EQ(install::install_into(dir, prefix), "");
  fs::create_directories(work);
  const std::string fm = sh_quote(prefix + "/bin/faultmux");
  const std::string checks = "test ! -e " +
                             sh_quote(install::source_dir() + "/scenarios/plain-echo.toml") +
                             " && echo checkout hidden\n";
  auto f = install::run_without_trees(
      dir, work,
      (install::can_hide_trees() ? checks : std::string()) + fm + " run " +
          sh_quote(prefix + "/share/faultmux/scenarios/eagain-on-send.toml") +
          " -v --report run-report\n" + fm + " suite --filter 'short-*'\n",
      ms(120000));
  ASSERT_TRUE(f.exited(0)) << f.describe();
  if (install::can_hide_trees()) {
    EXPECT_THAT(f.out, HasSubstr("checkout hidden"));
  } else {
    std::printf("note: unshare -rm is not allowed here: the checkout stayed visible\n");
  }
  EXPECT_THAT(f.out, HasSubstr("PASS eagain-on-send"));
  EXPECT_THAT(f.out, HasSubstr("syscall fault 'send-like@accepted"));
  EXPECT_THAT(f.out, HasSubstr("scenarios in " + prefix + "/share/faultmux/scenarios"));
  EXPECT_THAT(f.out, HasSubstr("PASS short-pid"));
  EXPECT_THAT(f.out, ::testing::Not(HasSubstr("PASS plain-echo")));
  auto doc = nlohmann::json::parse(slurp(work + "/reports/latest/results.json"));
  EXPECT_EQ(doc["run"]["faultmux_version"], faultmux_version_line());
  EXPECT_GE(doc["summary"]["passed"].get<int>(), 3);  // smoke, short-pid, short-writes
  EXPECT_TRUE(fs::exists(work + "/reports/latest/index.html"));
  EXPECT_TRUE(fs::exists(work + "/run-report/results.json"));
}

// `--target mitogen` from the installed tree: mitogen_mux.py from
// PREFIX/share/faultmux ("{source}"), Debian's Mitogen 0.3.3.
TEST(InstallMitogen, RunsAScenarioAgainstMitogenWithoutTheCheckout) {
  run_dir dir;
  const std::string prefix = dir.file("prefix");
  ASSERT_EQ(install::install_into(dir, prefix), "");
  auto f = install::run_without_trees(
      dir, dir.path(),
      sh_quote(prefix + "/bin/faultmux") + " run " +
          sh_quote(prefix + "/share/faultmux/scenarios/plain-echo.toml") + " --target mitogen\n");
  EXPECT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("PASS plain-echo [mitogen]"));
}

}  // namespace
}  // namespace faultmux::test
