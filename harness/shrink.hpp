// `faultmux shrink`: reduces a failing scenario to a smaller one that still
// fails, so a field failure is reported with only the faults and workers it
// needs. Greedy and bounded: each [[faults]] entry is dropped when the
// scenario still fails without it; each [[workers]] group's count, the
// target's backlog, then each group's messages and size are halved, and the
// target's limits set back to their defaults, while it still fails; rounds
// repeat until one keeps nothing. The result is named <name>-shrunk and
// described from what is left.
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
  std::string out;                 // default: <name>-shrunk.toml beside the given file
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

struct scenario;

// The description of a shrunk scenario: what is left of `given` in `now`
// ("1 worker of group good (was 60); fault #3 (SIGKILL) of 3; backlog 1
// (was 20) (shrunk from NAME: its description)"). `kept_faults` numbers
// now's faults as they were numbered in given (from 1).
std::string shrunk_description(const scenario& given, const scenario& now,
                               const std::vector<int>& kept_faults);
// "NAME-shrunk"; a name that already ends so is kept.
std::string shrunk_name(const std::string& name);

}  // namespace faultmux
