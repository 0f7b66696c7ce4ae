// --fault-at PHASE:ACTION and --context-fault-at NAME=PHASE:ACTION values,
// checked for the process that will reach the phase.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

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

}  // namespace faultmux::cli
