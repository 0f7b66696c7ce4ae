// What every faultmux program sets before it parses its command line.
#pragma once

#include <malloc.h>
#include <signal.h>

#include <cstdio>
#include <exception>

namespace faultmux::cli {

inline void prepare_process() {
  // A peer that vanishes must be an EPIPE we handle, never a signal.
  ::signal(SIGPIPE, SIG_IGN);
  // Message bodies of up to a few MiB come and go all the time: keep them in
  // the heap rather than mapping and unmapping (and faulting in) each one.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

// Called from main's catch (...): an error that escaped a command is a bug,
// said with its text; the status is 70 (EX_SOFTWARE).
inline int unexpected_error(const char* program) {
  try {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: unexpected error: %s\n", program, e.what());
  } catch (...) {
    std::fprintf(stderr, "%s: unexpected error\n", program);
  }
  return 70;
}

}  // namespace faultmux::cli
