// --legacy-bug NAME (mutants: --bug NAME), checked the same way by every
// subcommand that takes it.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mux/legacy.hpp"

namespace faultmux::cli {

// The bugs `names` enable; nullopt after printing "faultmux COMMAND: OPTION
// NAME: no such bug; known: ..." for the first name that is no bug.
std::optional<legacy_bugs> legacy_bugs_named(std::string_view command, std::string_view option,
                                             const std::vector<std::string>& names);

// The help text of a --legacy-bug option: `what`, then every known name.
std::string legacy_bug_help(const std::string& what);

}  // namespace faultmux::cli
