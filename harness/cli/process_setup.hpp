// What every faultmux program sets before it parses its command line.
#pragma once

#include <malloc.h>
#include <signal.h>

namespace faultmux::cli {

inline void prepare_process() {
  // A peer that vanishes must be an EPIPE we handle, never a signal.
  ::signal(SIGPIPE, SIG_IGN);
  // Message bodies of up to a few MiB come and go all the time: keep them in
  // the heap rather than mapping and unmapping (and faulting in) each one.
  ::mallopt(M_MMAP_THRESHOLD, 64 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace faultmux::cli
