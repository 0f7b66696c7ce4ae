// The Debian package: `cpack -G DEB` from the build tree gives
// faultmux_<version>_amd64.deb with its dependencies declared; unpacked
// into a scratch root, its faultmux runs a scenario.
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "harness/version.hpp"
#include "tests/support/install_support.hpp"

namespace faultmux::test {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(DebianPackage, DeclaresItsDependenciesAndRunsFromAnUnpackedRoot) {
  run_dir dir;
  auto made =
      install::run_program(dir,
                           {FAULTMUX_CPACK_COMMAND, "-G", "DEB", "--config",
                            install::build_dir() + "/CPackConfig.cmake", "-B", dir.file("out")},
                           install::ms(120000));
  ASSERT_TRUE(made.exited(0)) << made.describe();
  const std::string deb = dir.file("out/faultmux_" + install::cmake_version() + "_amd64.deb");
  ASSERT_TRUE(fs::is_regular_file(deb)) << made.out;

  auto info = install::run_program(dir, {"/usr/bin/dpkg-deb", "-I", deb});
  ASSERT_TRUE(info.exited(0)) << info.describe();
  EXPECT_THAT(info.out, HasSubstr(" Package: faultmux\n"));
  EXPECT_THAT(info.out, HasSubstr(" Version: " + install::cmake_version() + "\n"));
  EXPECT_THAT(info.out, HasSubstr(" Architecture: amd64\n"));
  EXPECT_THAT(info.out, HasSubstr(" Recommends: python3\n"));
  EXPECT_THAT(info.out, HasSubstr(" Suggests: python3-mitogen, chromium\n"));
  // The shared libraries faultmux links, by their Debian 12 packages; fmt
  // and spdlog are linked statically (deps/).
  const auto at = info.out.find(" Depends: ");
  ASSERT_NE(at, std::string::npos) << info.out;
  const std::string depends = info.out.substr(at, info.out.find('\n', at) - at);
  for (const char* lib : {"libc6", "libtomlplusplus3", "libstdc++6"})
    EXPECT_THAT(depends, HasSubstr(lib));
  for (const char* lib : {"libfmt", "libspdlog"})
    EXPECT_THAT(depends, ::testing::Not(HasSubstr(lib)));

  auto list = install::run_program(dir, {"/usr/bin/dpkg-deb", "-c", deb});
  ASSERT_TRUE(list.exited(0)) << list.describe();
  for (const char* file :
       {"./usr/bin/faultmux", "./usr/bin/faultmux-worker", "./usr/lib/faultmux/libfaultmux_shim.so",
        "./usr/share/faultmux/scenarios/plain-echo.toml",
        "./usr/share/faultmux/scenarios/mitogen_mux.py", "./usr/share/doc/faultmux/README.md",
        "./usr/lib/cmake/faultmux/faultmuxConfig.cmake"})
    EXPECT_THAT(list.out, HasSubstr(std::string(" ") + file + "\n")) << file;
  EXPECT_THAT(list.out, ::testing::Not(HasSubstr(install::build_dir())));

  auto unpacked = install::run_program(dir, {"/usr/bin/dpkg", "-x", deb, dir.file("root")});
  ASSERT_TRUE(unpacked.exited(0)) << unpacked.describe();
  const std::string usr = dir.file("root/usr");
  auto f = install::run_without_trees(
      dir, dir.path(),
      install::sh_quote(usr + "/bin/faultmux") + " --version\n" +
          install::sh_quote(usr + "/bin/faultmux") + " run " +
          install::sh_quote(usr + "/share/faultmux/scenarios/eagain-on-send.toml") + "\n");
  ASSERT_TRUE(f.exited(0)) << f.describe();
  EXPECT_THAT(f.out, HasSubstr("faultmux " + faultmux_version_line() + "\n"));
  EXPECT_THAT(f.out, HasSubstr("PASS eagain-on-send"));
}

}  // namespace
}  // namespace faultmux::test
