// What a context passes on to each context it starts: the settings every
// context of a tree shares with its root (unidirectional routing, legacy
// bugs, as Mitogen's children inherit their parent router's) and the phase
// faults addressed to a context at or below it by path ("a/b": the child b
// that the context a started).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace faultmux {

struct context_settings {
  bool unidirectional = false;
  std::vector<std::string> legacy_bugs;
  // Path -> "PHASE:ACTION", or "PHASE:ACTION@parent" when the context that
  // reaches the phase signals its parent instead of itself.
  std::map<std::string, std::string> fault_at;
  // Path -> a misbehaviour (faults/child_behaviour.hpp), "linger:3000".
  std::map<std::string, std::string> behaviours;
};

// The extra `faultmux context` arguments for the child called `name`:
// --unidirectional, --legacy-bug for each bug, --fault-at (and
// --fault-target parent) and --behave for its own path, --context-fault-at
// and --context-behave for the paths below it.
std::vector<std::string> child_context_args(const context_settings& s, const std::string& name);

// Splits "mid-call:SIGKILL@parent" into "mid-call:SIGKILL" and true.
std::pair<std::string, bool> split_fault_target(const std::string& spec);

}  // namespace faultmux
