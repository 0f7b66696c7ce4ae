// `faultmux suite`: the smoke workload, then every scenario of the checkout's
// scenarios/ against the built-in mux, reported in reports/latest/.
#pragma once

#include <string>

namespace faultmux {

// 0 only when the smoke workload and every scenario passed; 1 otherwise, 2
// on bad input, 130 when interrupted. With `with_mitogen` every scenario
// also runs against Mitogen 0.3.3, into the same report, as findings.
int run_suite(const std::string& self, int verbosity, const std::string& command_line,
              bool with_mitogen = false);

}  // namespace faultmux
