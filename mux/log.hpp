// Logging: spdlog to stderr, with every warning and error also written as a
// "log" event so the oracles see what a person sees.
#pragma once

#include <string>

#include <spdlog/spdlog.h>

namespace faultmux::log {

// verbosity: 0 = info, 1 = debug (-v), 2 = trace (-vv).
void init(const std::string& role, int verbosity);

}  // namespace faultmux::log
