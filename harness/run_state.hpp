// The state of one scenario run: the driver's lifecycle (driver.cpp) fills
// it as the run goes, and its judgement (run_judgement.cpp) reads it into
// the result the CLI, the suite and the report show.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "faults/event_log.hpp"
#include "harness/deadline.hpp"
#include "harness/driver.hpp"
#include "harness/fault_packages/fault_package.hpp"
#include "harness/resource_sampler.hpp"
#include "harness/run_framing.hpp"
#include "harness/target_command.hpp"
#include "harness/worker_set.hpp"
#include "roles/process.hpp"

namespace faultmux {

class run_state {
 protected:
  run_state(const scenario& s, std::uint64_t seed, const driver_options& o);

  // The verdict of the oracles on the run's timeline, and what the report draws of it.
  scenario_result judged() const;
  // Wall time by phase; a phase the run never reached (setup failed,
  // interrupted) takes no time, and the one cut short ends where it stopped.
  std::vector<reports::phase_entry> phases_of(run_clock::time_point started,
                                              run_clock::time_point judge_from,
                                              run_clock::time_point ended) const;

  const scenario s_;  // a copy: its timeout is scaled in sanitizer builds
  std::uint64_t seed_;
  const driver_options& o_;
  fault_packages faults_;    // one package per kind of fault
  target_spec t_;            // the effective target: the scenario's, or Mitogen's
  std::string target_name_;  // for the report: builtin, mitogen, external, fake-listener
  run_paths paths_;          // the run directory and the target's socket
  std::string setup_error_;
  std::set<std::string> by_target_;                     // groups the target kept from starting
  std::map<std::string, std::string> not_started_why_;  // by group: why it did not start
  std::string target_version_;  // what an external target said it is, if anything
  faults::event_log log_;       // driver.events
  child_process target_;        // the mux (or Mitogen, or the fake listener)
  worker_set workers_;
  // Where the traffic and stop phases began; unset when the run never got there.
  std::optional<run_clock::time_point> traffic_from_, stop_from_;
  double start_ms_ = 0;  // from the first worker spawned to the last
  run_outcome out_;      // what the oracles judge besides the timeline
  resource_sampler sampler_;
  std::optional<long long> baseline_fds_;

 private:
  // The groups that did not start in full (none when the run was cut short
  // by its setup or SIGINT: that is said elsewhere).
  std::map<std::string, not_started_group> missing_groups() const;
  // What the target was started with, as results.json and the report show it.
  reports::target_settings settings() const;
  // The report's rows, latencies, fault windows and resource samples.
  void describe_for_report(const timeline& tl, reports::scenario_entry& e) const;
};

}  // namespace faultmux
