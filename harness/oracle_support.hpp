// What the oracles share (harness/oracles.cpp, harness/oracle_outcomes.cpp):
// finding a run's processes and groups, and shaping the evidence.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "harness/oracles.hpp"

namespace faultmux::oracle_support {

// Lines of one kind an oracle lists before it says how many more there were.
inline constexpr std::size_t max_evidence = 10;

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

oracle_result make(const char* name, verdict v, std::vector<std::string> evidence = {});
// Appends at most max_evidence lines, saying how many were left out.
void add_capped(std::vector<std::string>& out, const std::vector<std::string>& lines);

}  // namespace faultmux::oracle_support
