// `faultmux repro`: from the evidence of a field failure (an strace of the
// mux, its log, events or results, the clients' errors) to a scenario that
// reproduces it. It reads the failure's signature from the evidence, builds
// a base scenario with a workload like the evidence's, profiles it with
// explore's fault points, tries them closest first (then pairs around the
// best), accepts a candidate that reproduces the signature at least 9 times
// in 10, shrinks it and writes it.
#pragma once

#include <string>
#include <vector>

namespace faultmux::repro {

struct repro_options {
  std::vector<std::string> evidence;  // the failure's files
  std::string target = "builtin";     // builtin or mitogen
  std::string mitogen_src;
  std::vector<std::string> legacy_bugs;
  std::string scenario;  // --scenario: the base scenario; "": built from the evidence
  std::string good;      // --good: evidence of a good run; its lines do not count
  double budget_min = 10;
  int jobs = 1;
  std::string out;  // default: scenarios/found/<name>.toml
  bool no_shrink = false;
  int verbosity = 0;
  std::string self;
};

// Exit status: 0 reproduced and written; 1 nothing reproduced within the
// budget (the best candidates and their rates are printed, nothing is
// written); 2 bad input (unrecognised or empty evidence, evidence with no
// error and no failure in it, a bad --scenario); 130 interrupted.
int run_repro(const repro_options& o);

}  // namespace faultmux::repro
