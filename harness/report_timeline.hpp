// What a report draws of one run, built from its merged timeline and what
// the driver saw of its processes: a row per process with marks where things
// happened to it, outcome counts per group, the latency of every call and
// round trip, the windows during which a fault held, and the mux's sampled
// fds and RSS. Pure functions: the driver gathers, these only read.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/resource_sampler.hpp"
#include "harness/scenario.hpp"
#include "harness/timeline.hpp"
#include "reports/results.hpp"

namespace faultmux {

// A process the driver started (the mux or a worker).
struct traced_process {
  std::string name;   // "mux", "worker-good-3": its events file is <name>.events
  std::string group;  // the worker group; "" for the mux
  int index = 0;      // within its group
  pid_t pid = -1;
  bool long_lived = false;       // serve/connect: its workload ends when the mux stops
  std::optional<double> exited;  // CLOCK_MONOTONIC seconds the driver saw it exit
  std::optional<int> status;     // wait status
};

struct report_limits {
  std::size_t max_rows = 200;
  std::size_t max_marks = 60;
};

// The rows (mux, contexts from the mux's events, workers in the order given,
// the probe), group outcome counts and the drawn span. `workers` in group and
// index order.
reports::timeline_info timeline_rows(const timeline& tl, const traced_process& mux,
                                     const std::vector<traced_process>& workers,
                                     const std::vector<worker_group>& groups,
                                     const report_limits& limits = {});

// A worker group the run did not start in full: how many it started, and why not the rest.
struct not_started_group {
  int started = 0;
  std::string why;
};

// Placeholder rows (outcome "not started") for the workers of `missing`'s
// groups that never ran, counted in their group: a report never shows a
// smaller run than the scenario asked for without saying so.
void add_not_started_rows(reports::timeline_info& tl, const std::vector<worker_group>& groups,
                          const std::map<std::string, not_started_group>& missing,
                          const report_limits& limits = {});

// Every call ("call" events with "ms") and echo round trip ("reply" events
// with outcome "ok") of the workers; nullopt when there is none.
std::optional<reports::latency_summary> latency_of(const timeline& tl);
// The same from values in ms (for tests of the arithmetic).
std::optional<reports::latency_summary> summarize_latencies(std::vector<double> ms);

// Fault windows: SIGSTOP..SIGCONT sent by the driver, lowered
// RLIMIT_NOFILE..restore, a worker group's phase SIGSTOP..continue. A fault
// never undone lasts to `end_s`. `names` maps pids to process names.
std::vector<reports::fault_window> windows_of(const timeline& tl, const traced_process& mux,
                                              const std::vector<traced_process>& workers,
                                              double end_s);

// The sampler's readings relative to `t0`.
reports::resource_info resources_of(pid_t pid, int interval_ms,
                                    const std::optional<long long>& baseline_fds,
                                    const std::vector<resource_point>& samples, double t0);

}  // namespace faultmux
