// The effects explore injects at a fault point, each with the class that
// says what it may cost (see single_fault_oracles.hpp).
#pragma once

#include <string>
#include <vector>

#include "harness/explore/fault_point.hpp"

namespace faultmux {

struct effect {
  std::string name;         // a shim effect ("EAGAIN", "short 1", "eof") or a signal ("SIGKILL")
  std::string fault_class;  // transient, hard, resource, stall (a bounded SIGSTOP)
};

// Every effect that makes sense for the point's call, by default.
std::vector<effect> effects_for(const fault_point& p);

// Every effect name effects_for() can give, for --effects and its help.
std::vector<std::string> effect_names();

// Keeps the effects named in `only` (all when empty).
std::vector<effect> narrowed(const std::vector<effect>& all, const std::vector<std::string>& only);

}  // namespace faultmux
