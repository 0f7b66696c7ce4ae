// Time-based process faults: send a signal to any process (the mux, a
// worker, a context, a Mitogen listener) after a delay, and optionally resume
// it with SIGCONT later: `faultmux fault signal` is a thin shell over this.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "faults/event_log.hpp"

namespace faultmux::faults {

// "SIGKILL", "KILL", "kill" or "9" -> 9; nullopt for anything else.
std::optional<int> parse_signal(std::string_view text);
// "SIGKILL" for 9; "signal 77" for a number without a name.
std::string signal_name(int sig);
// Signals that stop a process until SIGCONT.
bool is_stop_signal(int sig);

struct timed_signal {
  pid_t pid = -1;
  int sig = 0;
  std::chrono::milliseconds after{0};
  // With a stop signal: send SIGCONT this long after the signal.
  std::optional<std::chrono::milliseconds> resume_after;
};

// Sleeps until `after` (CLOCK_MONOTONIC, from the call), sends the signal,
// and with resume_after sends SIGCONT that much later. Each signal sent is
// logged as a "fault" event. Returns 0, or the errno of the kill(2) that
// failed (ESRCH: the process is gone; EPERM).
int run_timed_signal(const timed_signal& s, const event_log& log);

// Sleeps for d on CLOCK_MONOTONIC, through signal interruptions.
void sleep_for(std::chrono::milliseconds d);

}  // namespace faultmux::faults
