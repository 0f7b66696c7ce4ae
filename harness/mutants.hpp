// `faultmux mutants`: proves the scenarios catch the mux's legacy bugs
// (mux/legacy.hpp). A bug is caught by a scenario that passes against the
// plain mux and fails with that bug enabled.
#pragma once

#include <string>
#include <vector>

namespace faultmux {

struct mutants_options {
  std::vector<std::string>
      paths;                      // scenario files or directories; empty: the checkout's scenarios/
  std::vector<std::string> bugs;  // --bug: only these legacy bugs; empty: all
  int verbosity = 0;
  std::string self;  // the faultmux binary
};

// Prints progress, the scenario x bug matrix and a verdict. Exit status 0
// when every bug asked for is caught by some scenario and every scenario
// catches each bug it declares in `catches`; 1 otherwise (or when a
// scenario fails without any bug); 2 on bad input.
int run_mutants(const mutants_options& o);

}  // namespace faultmux
