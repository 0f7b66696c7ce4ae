// Helpers for the tests of an installed faultmux: `cmake --install` into a
// prefix, and shell commands run as a user of that prefix would, from a
// directory outside the checkout with the checkout and the build tree out
// of reach.
#pragma once

#include <string>
#include <vector>

#include "tests/support/fault_support.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test::install {

using fault::finished;
using fault::ms;

// The build tree and checkout this test binary was built from.
std::string build_dir();
std::string source_dir();
// "0.2.0": project(VERSION) of the top-level CMakeLists.txt.
std::string cmake_version();

// `text` quoted for /bin/sh.
std::string sh_quote(const std::string& text);

// Runs argv (argv[0] a path) to its end, stdout captured, stderr from a file
// in `dir`; SIGKILLed after `timeout`.
finished run_program(const run_dir& dir, const std::vector<std::string>& argv,
                     ms timeout = ms(60000));

// `cmake --install <build> --prefix <prefix>`; "" on success, else its output.
std::string install_into(const run_dir& dir, const std::string& prefix);

// True when this machine lets a process hide directories from itself
// (`unshare -rm` and a tmpfs mount in the new mount namespace).
bool can_hide_trees();

// Runs `script` with /bin/sh -e in `cwd`, stderr merged into stdout, in a
// private mount namespace where the checkout and the build tree are empty
// tmpfs mounts when can_hide_trees(), else where they stay visible.
finished run_without_trees(const run_dir& dir, const std::string& cwd, const std::string& script,
                           ms timeout = ms(60000));

}  // namespace faultmux::test::install
