// Coverage builds (the coverage preset) write their gcov counters at exit;
// a process that ends by _exit or abort must write them itself first, or
// the code it ran shows as never run.
#pragma once

#ifdef FAULTMUX_COVERAGE
extern "C" void __gcov_dump(void);
#endif

namespace faultmux {

inline void flush_coverage() {
#ifdef FAULTMUX_COVERAGE
  __gcov_dump();
#endif
}

}  // namespace faultmux
