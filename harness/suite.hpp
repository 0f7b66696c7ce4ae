// `faultmux suite`: the smoke workload, then every built-in scenario (the
// checkout's scenarios/, or PREFIX/share/faultmux/scenarios when installed)
// against the built-in mux, reported in reports/latest/ (the checkout's, or
// the working directory's when installed).
#pragma once

#include <string>

namespace faultmux {

// 0 only when the smoke workload and every scenario passed; 1 otherwise, 2
// on bad input, 130 when interrupted. With `with_mitogen` every scenario
// also runs against Mitogen 0.3.3, into the same report, as findings. A
// non-empty `filter` (a glob over scenario names) runs only those.
int run_suite(const std::string& self, int verbosity, const std::string& command_line,
              bool with_mitogen = false, const std::string& filter = "");

}  // namespace faultmux
