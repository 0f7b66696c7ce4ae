// `faultmux run --bundle DIR`: what a bug report needs, in one directory:
// the report (index.html, results.json, junit.xml), the scenario files as
// they ran (scenarios/), rerun.sh that repeats the run exactly (seeds,
// target, legacy bugs, Mitogen tree) from the bundle's own copies, and
// summary.md, the Markdown to paste into an issue.
#pragma once

#include <string>
#include <vector>

#include "harness/driver.hpp"

namespace faultmux {

// Writes the bundle of the run `d` described, whose report is in
// d.report_dir (copied when that is not `dir`); "" or what failed.
std::string write_bundle(const driver_options& d, const std::string& dir);

// `word` quoted for sh when it needs to be.
std::string sh_quote(const std::string& word);

// The `faultmux run` arguments after the files that repeat `d` exactly: its
// seed, target, Mitogen tree (absolute), legacy bugs, --with-mitogen and
// --repeat.
std::vector<std::string> rerun_options(const driver_options& d);

}  // namespace faultmux
