// `faultmux shrink`: reduces a failing scenario to a smaller one that still
// fails, so a field failure is reported with only the faults and workers it
// needs. Greedy and bounded: each [[faults]] entry is dropped when the
// scenario still fails without it, then each [[workers]] group's count and
// messages are halved while it still fails.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultmux {

struct shrink_options {
  std::string file;                   // the failing scenario
  std::optional<std::uint64_t> seed;  // default: the scenario's own
  std::vector<std::string> legacy_bugs;
  std::string target = "builtin";  // builtin or mitogen
  std::string mitogen_src;         // a Mitogen source tree for --target mitogen
  std::string out;                 // default: <FILE stem>.shrunk.toml in the current directory
  int max_runs = 40;               // every run counts, the first one too
  int verbosity = 0;
  std::string self;  // the faultmux binary
};

// Prints a progress line per run, then the minimal scenario (TOML) and the
// command that reruns it, and writes it to the output path. Only a judged
// failure counts as still failing: a candidate that could not be run (its
// setup failed) is not kept. Exit status 0 when a failing minimal scenario
// was written; 2 on bad input, or when the scenario passes or cannot be run
// with the given options (nothing to shrink); 130 when interrupted.
int run_shrink(const shrink_options& o);

}  // namespace faultmux
