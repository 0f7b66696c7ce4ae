#include "harness/outcome_counts.hpp"

#include <fmt/format.h>

namespace faultmux {

std::optional<count_error> read_outcome_counts(const toml::table& t, outcome_expectation& x) {
  for (auto [key, field] : {std::pair<const char*, int*>{"min", &x.min}, {"max", &x.max}}) {
    const toml::node* n = t.get(key);
    if (!n) continue;
    auto v = n->value_exact<std::int64_t>();
    if (!v || *v < 0 || *v > 1'000'000)
      return count_error{
          n, fmt::format("{} must be an integer 0..1000000 (workers of the group)", key)};
    *field = static_cast<int>(*v);
  }
  if (x.min >= 0 && x.max >= 0 && x.min > x.max)
    return count_error{t.get("min"), fmt::format("min ({}) is above max ({})", x.min, x.max)};
  if (const toml::node* n = t.get("fraction")) {
    auto v = n->value<double>();
    if (!v || !(*v >= 0 && *v <= 1))
      return count_error{n, "fraction must be a number from 0 to 1 (the least share of the group)"};
    x.fraction = *v;
  }
  return std::nullopt;
}

}  // namespace faultmux
