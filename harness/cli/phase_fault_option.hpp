// --fault-at PHASE:ACTION and --context-fault-at NAME=PHASE:ACTION values,
// checked for the process that will reach the phase, and the misbehaviours
// of contexts: --behave BEHAVIOUR and --context-behave NAME=BEHAVIOUR.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "faults/child_behaviour.hpp"
#include "faults/phase.hpp"

namespace faultmux::cli {

// The phase fault `text` names; nullopt after printing what is wrong with it
// for `command`'s `option` (including a phase `role` never reaches).
std::optional<faults::phase_fault> parse_fault_at(const char* command, const char* option,
                                                  const std::string& text, faults::phase_role role);

// Adds each --context-fault-at NAME=PHASE:ACTION[@parent] of `specs` to `out`
// by context path; false after printing what is wrong with the first bad one.
bool parse_context_faults(const char* command, const std::vector<std::string>& specs,
                          std::map<std::string, std::string>& out);

// The misbehaviour `text` names; nullopt after printing what is wrong with it.
std::optional<faults::child_behaviour> parse_behave(const char* command, const char* option,
                                                    const std::string& text);

// Adds each --context-behave NAME=BEHAVIOUR of `specs` to `out` by context
// path, in canonical form; false after printing what is wrong with the first bad one.
bool parse_context_behaviours(const char* command, const std::vector<std::string>& specs,
                              std::map<std::string, std::string>& out);

}  // namespace faultmux::cli
