// `faultmux context`: a child context, started by its parent over a
// socketpair (fd 3). It serves the built-in functions, can start children of
// its own, forwards its logs to its parent and exits when the parent goes
// away or sends SHUTDOWN.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faults/child_behaviour.hpp"
#include "faults/phase.hpp"
#include "mux/legacy.hpp"
#include "wire/limits.hpp"

namespace faultmux {

struct context_options {
  int fd = 3;
  std::uint32_t context_id = 0;
  std::vector<std::uint32_t> parent_ids;  // nearest first
  std::string name;
  std::uint64_t max_message_size = limits::max_message_size;
  std::string events;
  int verbosity = 0;
  std::string self;  // this binary, for grandchildren
  // A process fault at a phase of this context's life (only mid-call applies).
  std::optional<faults::phase_fault> fault_at;
  bool fault_parent = false;  // the fault signals the parent context, not this one
  // What this context does wrong on purpose (--behave).
  std::optional<faults::child_behaviour> behaviour;
  // Passed on to the contexts this one starts (roles/context_args.hpp).
  bool unidirectional = false;
  legacy_bugs legacy;
  std::vector<std::string> legacy_names;
  std::map<std::string, std::string> context_fault_at;
  std::map<std::string, std::string> context_behaviours;
};

int run_context(const context_options& o);

}  // namespace faultmux
