// Whether a run reproduced a signature: the same error-line classes (with
// the errno or reason the evidence names) on the mux and on the clients, and
// the same oracles failing when the evidence shows them (a client's errno
// is not compared: which one it meets is timing). A log of correct
// behaviour is reproduced by its lines alone.
#pragma once

#include <string>
#include <vector>

#include "harness/oracles.hpp"
#include "harness/repro/signature.hpp"
#include "harness/timeline.hpp"

namespace faultmux::repro {

// A run's own signature, from its timeline and its oracles.
signature run_signature(const timeline& tl, const std::vector<oracle_result>& oracles);

struct match {
  bool reproduced = false;
  double closeness = 0;              // the share of the wanted classes and oracles the run showed
  std::vector<std::string> missing;  // what it did not show
};

match compare(const signature& want, const signature& got);

// Reproduced at least 9 times in 10.
constexpr int accept_runs = 10;
constexpr int accept_min = 9;

}  // namespace faultmux::repro
