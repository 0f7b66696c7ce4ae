// Test helpers for `faultmux run` as a user runs it: a bounded run of the
// command with its own TMPDIR, and what it leaves behind.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace faultmux::test {

struct ran {
  std::optional<int> status;
  std::string out;  // stdout
  double seconds = 0;
};

// `faultmux run args...` with TMPDIR=tmp, to its end (SIGKILLed and reaped
// after `timeout`).
ran run_cli(const std::string& tmp, const std::vector<std::string>& args,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));

// The exit code, or -1 when it did not exit (killed, or still running).
int exit_code(const ran& r);

// Processes whose command line mentions `needle` (a run's directory).
std::vector<std::string> processes_mentioning(const std::string& needle);

}  // namespace faultmux::test
