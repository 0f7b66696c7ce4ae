// What the oracles share (harness/oracles.cpp, harness/oracle_outcomes.cpp):
// finding a run's processes and groups, looking its events up, and shaping
// the evidence.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "harness/oracles.hpp"
#include "harness/timeline.hpp"

namespace faultmux::oracle_support {

// Lines of one kind an oracle lists before it says how many more there were.
inline constexpr std::size_t max_evidence = 10;

// A run as the oracles read it: its timeline indexed once, its processes by
// pid, so that judging stays linear in the events however many workers ran.
struct run_view {
  run_view(const scenario& s, const timeline& tl, const run_outcome& o);
  run_view(const run_view&) = delete;
  run_view& operator=(const run_view&) = delete;

  // The process the driver started with this pid, or nullptr.
  const process_record* process(pid_t pid) const;

  const scenario& s;
  const timeline& tl;
  const run_outcome& o;
  timeline_index ix;
  double t0;  // the first event's time
  std::unordered_map<pid_t, const process_record*> by_pid;
};

const process_record* mux_of(const run_outcome& o);
// The processes of a worker group; none for "".
std::vector<const process_record*> members(const run_outcome& o, const std::string& group);
const worker_group* group_named(const scenario& s, const std::string& name);
// A process's wait status in words, or "never reaped".
std::string status_text(const process_record& p);
// A calls group against an external target: its calls need
// faultmux.ContextService, which only faultmux's mux serves, so what its
// workers log and which phases they reach say nothing about the target.
bool calls_not_served(const scenario& s, const run_outcome& o, const std::string& group);
// Every worker group is such a calls group: no context is asked for, so
// nothing the scenario makes the mux do or log can happen on that target.
bool no_group_served(const scenario& s, const run_outcome& o);

// The numbers `msg` names right after `prefix` ("unix_client.", "PID "),
// each a whole run of digits: "unix_client.123" names 123, never 12.
std::set<long long> numbers_after(std::string_view msg, std::string_view prefix);

// The worker outcomes oracle on an indexed run (harness/oracle_outcomes.cpp).
oracle_result outcomes_of(const run_view& r);

oracle_result make(const char* name, verdict v, std::vector<std::string> evidence = {});
// Appends at most max_evidence lines, saying how many were left out.
void add_capped(std::vector<std::string>& out, const std::vector<std::string>& lines);

}  // namespace faultmux::oracle_support
