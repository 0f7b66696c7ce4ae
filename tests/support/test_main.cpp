// GoogleTest main for every test binary: ignores SIGPIPE as every faultmux
// process does, and keeps logs quiet unless FAULTMUX_TEST_VERBOSE is set.
#include <signal.h>

#include <cstdlib>

#include <gtest/gtest.h>

#include "mux/log.hpp"

int main(int argc, char** argv) {
  ::signal(SIGPIPE, SIG_IGN);
  testing::InitGoogleTest(&argc, argv);
  faultmux::log::init("test", std::getenv("FAULTMUX_TEST_VERBOSE") ? 2 : 0);
  if (!std::getenv("FAULTMUX_TEST_VERBOSE")) spdlog::set_level(spdlog::level::off);
  return RUN_ALL_TESTS();
}
