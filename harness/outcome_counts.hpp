// The counts of an [[expect.outcomes]] entry (min, max, fraction), read
// apart from the loader's key table so that the loader stays one table.
#pragma once

#include <optional>
#include <string>

#include <toml++/toml.h>

#include "harness/scenario.hpp"

namespace faultmux {

// What is wrong with one of the counts, and where.
struct count_error {
  const toml::node* node;
  std::string what;
};

// Sets x.min, x.max and x.fraction from `t`; the first bad value, if any.
std::optional<count_error> read_outcome_counts(const toml::table& t, outcome_expectation& x);

}  // namespace faultmux
