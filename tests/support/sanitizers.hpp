// Sanitizer builds (the asan and tsan presets) add their own memory on top of
// what faultmux uses (shadow memory, redzones, quarantine): memory bounds in
// tests are multiplied by this, so they stay bounds of faultmux, not of the
// sanitizer.
#pragma once

namespace faultmux::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr long memory_slack = 8;
#else
inline constexpr long memory_slack = 1;
#endif

}  // namespace faultmux::test
