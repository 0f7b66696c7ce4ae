// The symptom index: from a log line users saw to the scenarios that
// reproduce it, the field-failure row, the legacy bug and the Mitogen
// versions affected and fixed. docs/symptoms.md is made from it
// (`faultmux run --list --update-index`) and `faultmux run --list --grep`
// searches it.
#pragma once

#include <string>
#include <vector>

#include "harness/scenario.hpp"

namespace faultmux {

// The rows of docs/field-failures.md an origin cites: "docs/field-failures.md
// F7, F10; ..." gives {"F7", "F10"}.
std::vector<std::string> cited_rows(const std::string& origin);

// A scenario's log-line regexes: its `symptoms`, then the patterns of its
// [expect] errors (the lines it requires), each once.
std::vector<std::string> symptom_lines(const scenario& s);

// docs/symptoms.md for these scenarios (in the order given).
std::string symptom_index_markdown(const std::vector<scenario>& all);

// True when `text` is in the scenario's name, description, origin, legacy
// bugs or log-line regexes (ignoring case), or one of those regexes matches
// `text` (a log line pasted whole).
bool scenario_matches(const scenario& s, const std::string& text);

}  // namespace faultmux
