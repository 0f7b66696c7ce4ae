// A worker's command line for each of the six workloads (connect, serve,
// echo, calls, hostile, second-mux): `faultmux worker`, or for a client =
// "mitogen" group scenarios/mitogen_worker.py with the same options. A pure
// function, so it is unit-testable.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/fault_packages/fault_package.hpp"
#include "harness/scenario.hpp"
#include "harness/target_command.hpp"

namespace faultmux {

// What a worker's command depends on besides its group and index.
struct worker_launch {
  std::string self;  // the faultmux binary
  // faultmux-worker, or "" for `self worker`: a static binary cannot have
  // the shim preloaded, so workers with syscall rules run `self worker`.
  std::string small_worker;
  std::uint64_t seed = 0;                // the run's
  std::vector<std::string> target_argv;  // second-mux runs the target's command again
  std::vector<std::uint32_t> serve_ids;  // every serve worker's context id, as they said them
  std::map<std::string, std::vector<std::uint32_t>> ids_by_group;  // context ids said so far
  const fault_packages* faults = nullptr;  // may add arguments (a phase fault)
};

// "worker-GROUP-INDEX": a worker's name, and the stem of its files.
std::string worker_name(const worker_group& g, int index);

// The argv of worker `index` of group `g` in scenario `s` run against the
// effective target `t`.
std::vector<std::string> worker_argv(const scenario& s, const target_spec& t, const worker_group& g,
                                     int index, const worker_launch& l, const run_paths& p);

}  // namespace faultmux
