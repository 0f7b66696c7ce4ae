// The probe as a process of its own (`faultmux probe`), named "probe" to the
// shim in the target (FAULTMUX_PEER=probe): the shim leaves its connections
// alone unless a rule says peer=probe, so a rule aimed at the workers never
// makes a live listener look dead.
#pragma once

#include <sys/types.h>

#include <string>

#include "harness/probe.hpp"

namespace faultmux {

// Runs `self probe` against `socket`, its stderr in `dir`/probe.stderr;
// `pid` is set to its pid once started.
probe_result run_probe_process(const std::string& self, const std::string& socket,
                               const std::string& dir, pid_t& pid);

}  // namespace faultmux
