// The base fixture of the tests that fault a real mux (hostile peers, phase
// and time faults, the legacy bugs, EAGAIN): a private run directory, the
// mux and an echo worker through it, the command line of a faultmux worker
// against it, the mux's log lines, and sweeps over a fault's position.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/mux_process.hpp"
#include "tests/support/run_dir.hpp"
#include "tests/support/stream_support.hpp"

namespace faultmux::test {

class mux_fixture : public testing::Test {
 protected:
  run_dir dir;
  std::optional<mux_process> mux;
  streams::echo_worker echo;

  // Starts the mux (`faultmux mux args...`, see mux_config) and an echo
  // worker through it.
  void start(const std::vector<std::string>& mux_args = {}, mux_config cfg = {});
  // `worker --connect SOCKET --events EVENTS extra...`, for
  // fault::run_faultmux and fault::start_faultmux.
  std::vector<std::string> worker_args(const std::string& events,
                                       const std::vector<std::string>& extra) const;
  // The mux's first log line whose message contains `what`.
  std::optional<nlohmann::json> mux_log(
      const std::string& what, std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;
  // SIGTERM (after SIGCONT, should it be stopped) and a bounded wait: a clean
  // stop, which also ends the contexts the mux started.
  void terminate_mux(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The mux still lives, handshakes and routes echo.
  void expect_alive_and_routing();

  // Runs check(n) for every n from first to last, each failure traced with
  // its n: "fail at N, for every N".
  template <class F>
  void for_every(int first, int last, F check) {
    for (int n = first; n <= last; ++n) {
      SCOPED_TRACE("n = " + std::to_string(n));
      check(n);
    }
  }
};

}  // namespace faultmux::test
