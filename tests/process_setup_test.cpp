// What every faultmux program does before and around its command.
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "harness/cli/process_setup.hpp"

namespace faultmux {
namespace {

// An error that escapes a command is said with its text, status 70.
TEST(UnexpectedError, SaysTheErrorAndExitsSeventy) {
  testing::internal::CaptureStderr();
  int status = 0;
  try {
    throw std::runtime_error("boom");
  } catch (...) {
    status = cli::unexpected_error("prog");
  }
  EXPECT_EQ(status, 70);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: unexpected error: boom\n");

  testing::internal::CaptureStderr();
  try {
    throw 3;
  } catch (...) {
    status = cli::unexpected_error("prog");
  }
  EXPECT_EQ(status, 70);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "prog: unexpected error\n");
}

}  // namespace
}  // namespace faultmux
