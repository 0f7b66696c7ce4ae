// Helpers for the fault-layer tests (hostile peers, phase faults, resource
// faults, the shim against the mux): faultmux commands run to their end with
// a bound, event queries, and the prefix that preloads the shim.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "roles/process.hpp"
#include "tests/support/run_dir.hpp"

namespace faultmux::test::fault {

using json = nlohmann::json;
using ms = std::chrono::milliseconds;

// A program run to its end.
struct finished {
  std::optional<int> status;  // wait status; nullopt: killed after the timeout
  std::string out;            // all of stdout
  std::string err;            // all of stderr
  bool exited(int code) const;
  bool killed_by(int sig) const;
  std::string describe() const;  // status, stdout and stderr for failure messages
};

// Starts `faultmux args...` with stdout captured and stderr appended to
// <dir>/<name>.stderr, and TMPDIR=<dir>.
child_process start_faultmux(const run_dir& dir, const std::vector<std::string>& args,
                             const std::string& name);
// Runs `faultmux args...` to its end; SIGKILLed after `timeout`.
finished run_faultmux(const run_dir& dir, const std::vector<std::string>& args,
                      ms timeout = ms(20000));
// Reads what is left of p's stdout and waits for it (bounded); stderr from
// <dir>/<name>.stderr.
finished finish(child_process& p, const run_dir& dir, const std::string& name,
                ms timeout = ms(20000));

// Events called `name`.
std::vector<json> named(const std::vector<json>& events, std::string_view name);
// Messages of "log" events containing every needle.
std::vector<std::string> logs_with(const std::vector<json>& events,
                                   std::initializer_list<std::string> needles);
// Messages of warning, error and critical "log" events.
std::vector<std::string> problem_logs(const std::vector<json>& events);
// Events from process `pid`.
std::vector<json> from_pid(const std::vector<json>& events, pid_t pid);

// `env LD_PRELOAD=<shim> FAULTMUX_FAULTS=<rules> ...`: a prefix that runs a
// command under the shim (env execs it, so the pid is the command's).
std::vector<std::string> shim_prefix(const std::string& shim, const std::string& rules,
                                     const std::string& log, const std::string& role = "mux",
                                     std::uint64_t seed = 0);

// VmHWM (peak resident set) in KiB; -1 when the process is gone.
long peak_rss_kib(pid_t pid);

// The mux at `socket` is alive and routing: a new client handshakes and
// gets the echo of a message from the echo worker `echo_id`.
::testing::AssertionResult mux_serves(const std::string& socket, std::uint32_t echo_id);

// Blocks until process `pid` is stopped (state T); false after timeout.
bool wait_stopped(pid_t pid, ms timeout = ms(5000));

}  // namespace faultmux::test::fault
