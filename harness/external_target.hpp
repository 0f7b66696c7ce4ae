// External targets: a mux that is not ours (Mitogen 0.3.3 through
// scenarios/mitogen_mux.py, or a scenario's own [target] command). The
// driver starts it like the built-in mux; since it writes no events, its
// stderr is turned into events afterwards by log patterns, so the oracles
// read it as they read the built-in mux's events file.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "harness/scenario.hpp"

namespace faultmux {

// Patterns for Mitogen's own error lines (mitogen/core.py, mitogen/unix.py).
std::vector<log_pattern> mitogen_log_patterns();

// The target `--target mitogen` runs: `base` (backlog, message size, ...)
// with the command of scenarios/mitogen_mux.py (importing Mitogen from
// `mitogen_src` when given, else the installed package) and Mitogen's log
// patterns before the scenario's own.
target_spec mitogen_target(const target_spec& base, const std::string& mitogen_src = "");

// The directory that holds scenarios/ ("{source}"): the checkout, or
// PREFIX/share/faultmux when installed.
std::string source_dir();

// The external command with {socket}, {backlog}, {max_message_size} and
// {source} substituted.
std::vector<std::string> external_argv(const target_spec& t, const std::string& socket,
                                       int backlog);

// Turns the target's stderr (Python logging lines "DATE TIME NAME[PID]
// LEVEL LOGGER: MESSAGE", or anything else) into events appended to
// `events_path` with role "mux" and `pid`: a "log" event for each WARNING,
// ERROR or CRITICAL line or a line a pattern gives a level, and one event
// per matching pattern. A traceback's last line is added to the line before
// it. Times are the lines' own (wall clock, mapped to CLOCK_MONOTONIC);
// lines without one take the last time seen, or `fallback_t`. Returns the
// number of events written, or -1 when `events_path` cannot be written.
int log_to_events(const std::string& stderr_path, const std::string& events_path, pid_t pid,
                  const std::vector<log_pattern>& patterns, double fallback_t);

}  // namespace faultmux
