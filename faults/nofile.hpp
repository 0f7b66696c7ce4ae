// Resource faults on the fd table: start a program with a low soft
// RLIMIT_NOFILE, or lower a running process's soft limit below what it uses
// (prlimit(2)) so its next accept() meets EMFILE, and raise it back later.
// Only the soft limit moves: the hard limit stays, so the soft one can always
// be restored without CAP_SYS_RESOURCE.
#pragma once

#include <sys/resource.h>
#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace faultmux::faults {

struct nofile_limits {
  rlim_t soft = 0;
  rlim_t hard = 0;
};

// The RLIMIT_NOFILE of `pid` (0: this process); the errno on failure.
std::optional<nofile_limits> get_nofile(pid_t pid, int* err);
// Sets the soft RLIMIT_NOFILE of `pid` (0: this process), keeping the hard
// limit; *previous gets the limits before. Returns 0 or the errno (EINVAL
// when soft exceeds the hard limit, ESRCH, EPERM).
int set_nofile_soft(pid_t pid, rlim_t soft, nofile_limits* previous = nullptr);

// The lowest descriptor number `pid` does not have open, from /proc: with
// the soft limit set to this, the process cannot get one more descriptor.
// -1 with *err set when /proc cannot be read.
int lowest_free_fd(pid_t pid, int* err);

// Sets this process's soft RLIMIT_NOFILE to `soft` and execs argv (argv[0]
// is looked up in PATH). Returns only on failure, with the errno (of
// setrlimit or of exec; *what says which).
int exec_with_nofile(rlim_t soft, const std::vector<std::string>& argv, std::string* what);

// "unlimited" or the number.
std::string limit_text(rlim_t v);

}  // namespace faultmux::faults
