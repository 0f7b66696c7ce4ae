// The keys of a signal fault beyond its one signal: a `sequence` of signals
// with their `gaps_ms`, and a storm (`storm_hz`, `storm_ms`). Read here so
// the scenario loader only calls in.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "harness/scenario.hpp"

namespace faultmux {

struct signal_key_problem {
  const toml::node* at;  // the offending value; nullptr: the fault's table
  std::string what;
};

// The number of a signal a scenario's fault may send ("SIGTERM" -> 15); 0
// for any other name.
int fault_signal_number(std::string_view name);

// Fills f.sequence, f.gaps_ms, f.storm_hz and f.storm_ms from t.
std::optional<signal_key_problem> read_signal_extras(const toml::table& t, fault_spec& f);

}  // namespace faultmux
