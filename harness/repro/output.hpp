// What `faultmux repro` leaves: the reproducing scenario, written with an
// `origin` naming the evidence and its reproduction rate, and the command
// that runs it; or, when nothing reproduced, the closest candidates and
// their rates, and nothing written.
#pragma once

#include <string>

#include <toml++/toml.h>

#include "harness/repro/search.hpp"
#include "harness/repro/signature.hpp"

namespace faultmux::repro {

// "repro-identity-read-failed": the name of a scenario for the signature.
std::string scenario_name(const signature& sig);

// The evidence files and the rate, as the scenario's origin.
std::string origin_of(const signature& sig, int reproduced, int runs);

// Writes `t` as `path` (its directories made); "" or why not.
std::string write_scenario(const toml::table& t, const std::string& path);

// The closest candidates, their rates and what each missed.
void print_best(const search_result& r);

}  // namespace faultmux::repro
