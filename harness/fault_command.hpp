// `faultmux fault ...`: process and resource faults from the command line,
// thin shells over faults/ (signal_fault.hpp, nofile.hpp). Each returns the
// exit status: 0 done, 1 the fault could not be applied (the process is
// gone, permission), 2 bad input (the message says what, where and how to
// fix it).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace faultmux {

struct fault_signal_options {
  pid_t pid = 0;
  std::string signal;  // name or number
  int after_ms = 0;
  std::optional<int> resume_after_ms;  // stop signals only: SIGCONT this much later
  std::string events;
};
int run_fault_signal(const fault_signal_options& o);

struct fault_nofile_options {
  pid_t pid = 0;
  std::string limit;  // a number, or "full": the lowest descriptor it does not have open
  std::optional<int> restore_after_ms;
  std::string events;
};
int run_fault_nofile(const fault_nofile_options& o);

struct fault_run_options {
  std::string nofile;  // the soft RLIMIT_NOFILE for the command
  std::vector<std::string> command;
  std::string events;
};
// Replaces this process with the command (same pid); returns only on failure.
int run_fault_run(const fault_run_options& o);

}  // namespace faultmux
