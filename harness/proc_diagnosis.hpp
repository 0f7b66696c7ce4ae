// What /proc says about a process that should have finished: the driver's
// evidence when a worker or the mux hangs, and the mux's peak memory.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

#include "harness/timeline.hpp"

namespace faultmux {

// The whole file, or "" when it cannot be read.
std::string slurp(const std::string& path);

// "state S (sleeping), wchan unix_stream_read_generic"; "gone" when the
// process no longer exists.
std::string proc_state(pid_t pid);

// True when /proc shows the process stopped (SIGSTOP): it cannot act on SIGTERM.
bool proc_stopped(pid_t pid);

// The last `max` bytes of a file, from a line start when there is one.
std::string tail_of(const std::string& path, std::size_t max = 2000);

// VmHWM (peak resident set) in KiB from /proc/PID/status; -1 when unknown.
long peak_rss_kib(pid_t pid);

// The contexts a mux started ("child_start" in its events) that are still
// there after it: each is reaped when it exits within a second (the driver
// is the run's subreaper), else diagnosed and killed. Their diagnoses.
std::vector<std::string> reap_contexts(const timeline& mux_events);

}  // namespace faultmux
