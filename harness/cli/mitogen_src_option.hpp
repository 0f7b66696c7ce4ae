// --mitogen-src DIR, checked the same way by every subcommand that takes
// --target mitogen.
#pragma once

#include <string>
#include <string_view>

#include "harness/cli/commands.hpp"

namespace faultmux::cli {

void add_mitogen_src_option(CLI::App* sub, std::string& dir);

// Whether `dir` ("" when not given) can be used with `target`: it needs
// --target mitogen and must hold mitogen/__init__.py. Makes it absolute, as
// the runs start elsewhere. Prints "faultmux COMMAND: --mitogen-src DIR:
// why" when not.
bool mitogen_src_usable(std::string_view command, std::string& dir, const std::string& target);

}  // namespace faultmux::cli
