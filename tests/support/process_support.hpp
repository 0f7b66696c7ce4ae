// Child processes as the tests and benchmarks start and watch them: stderr
// to a file, bounded polling, and what /proc says about a process.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "roles/process.hpp"

namespace faultmux::test {

// Starts argv with its stderr appended to stderr_path (and its stdout
// captured unless told otherwise), so a test can read what a person would
// see on the terminal and a benchmark's report stays clean.
child_process spawn_logged(const std::vector<std::string>& argv, const std::string& stderr_path,
                           bool capture_stdout = true);

// Polls cond every few milliseconds until it holds; false on timeout.
bool eventually(const std::function<bool()>& cond, std::chrono::milliseconds timeout);

// Open descriptors of a process numbered below `below`, from /proc. Against
// RLIMIT_NOFILE count only those below the limit: a descriptor inherited with a
// higher number is open but takes no slot accept() could use.
int open_fd_count(pid_t pid, int below = 1 << 30);
// The one-letter state from /proc/PID/stat ('T' when stopped), or '?'.
char process_state(pid_t pid);
// A "Name: N kB" field of /proc/PID/status (VmRSS, VmHWM) in KiB; -1 when gone.
long status_kib(pid_t pid, const char* field);

}  // namespace faultmux::test
