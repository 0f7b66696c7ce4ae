// Sanitizer builds (the asan and tsan presets) add their own memory on top of
// what faultmux uses (shadow memory, redzones, quarantine) and run slower:
// memory bounds and racing deadlines in tests are multiplied by these, so
// they stay bounds of faultmux, not of the sanitizer.
#pragma once

namespace faultmux::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr long memory_slack = 8;
// Instrumented code runs several times slower: deadlines that race real
// work (not those that bound a wait) are stretched by this.
inline constexpr int time_slack = 4;
// Tests that start hundreds of processes start this many times fewer: each
// instrumented process costs tens of megabytes of shadow memory.
inline constexpr int process_divisor = 4;
#else
inline constexpr long memory_slack = 1;
inline constexpr int time_slack = 1;
inline constexpr int process_divisor = 1;
#endif

// `faultmux run` gives each scenario this many times its timeout_ms in a
// sanitizer build (harness/driver.cpp), and says so in its messages.
inline constexpr int scenario_time_factor = time_slack;

}  // namespace faultmux::test
