// The search for a run that reproduces a signature: the base scenario
// profiled with explore's tracing, its fault points ranked, each candidate
// run once and rerun only when that run matched, within the budget.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <toml++/toml.h>

#include "harness/repro/ranking.hpp"
#include "harness/repro/repro.hpp"
#include "harness/repro/signature.hpp"

namespace faultmux::repro {

// A candidate and how it did.
struct tried {
  candidate c;
  int runs = 0, reproduced = 0;
  double closeness = 0;              // of its first run
  std::vector<std::string> missing;  // what its first run did not show
};

struct search_result {
  std::optional<tried> found;  // reproduced at least 9 times in 10
  toml::table scenario;        // found's scenario
  std::vector<tried> best;     // the closest candidates, best first
  std::size_t candidates = 0, tried_count = 0;
  std::string stopped_because;  // "the budget of 10 min", "interrupted"; "" when done
  bool interrupted = false;
};

// The base scenario with the candidate's faults, judged by the class of its
// costlier fault (explore's single-fault oracles), named `name`.
toml::table with_candidate(const toml::table& base, const candidate& c, const std::string& name,
                           int stall_ms);

search_result search(const repro_options& o, const signature& sig, const toml::table& base);

// Runs `t` `runs` times (stopping once 9 in 10 is out of reach): how many
// reproduced the signature.
int reproductions(const repro_options& o, const signature& sig, const toml::table& t, int runs);

}  // namespace faultmux::repro
