// The driver's clock and deadlines: every wait of a run is bounded, so a
// hung process is a diagnosis, never a hung driver.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace faultmux {

using run_clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;

// A sanitizer build of faultmux (the driver, and so the mux and workers it
// runs) is several times slower, exiting included (LeakSanitizer scans at
// exit): scenario timeouts and the driver's grace periods are this many
// times longer there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr int build_slack = 4;
#else
inline constexpr int build_slack = 1;
#endif

// How long a worker has to exit after SIGTERM (or after the mux went).
inline constexpr ms worker_exit_grace{3000 * build_slack};

// The time left until `end`, never negative.
inline ms left(run_clock::time_point end) {
  return std::max(ms(0), std::chrono::duration_cast<ms>(end - run_clock::now()));
}

// Calls `done(step)` until it returns true, `stop()` does, or `budget` has
// passed; `done` itself waits up to `step`. True when `done` said so.
template <typename Done, typename Stop>
bool wait_for(ms budget, ms step, Done done, Stop stop) {
  for (auto end = run_clock::now() + budget; !stop() && left(end).count() > 0;)
    if (done(std::min(step, left(end)))) return true;
  return false;
}

// Actions due at given times (faults, delayed worker groups), run from the
// driver's loops between their bounded waits.
class action_queue {
 public:
  void at(run_clock::time_point due, std::function<void()> act) {
    actions_.push_back({due, std::move(act)});
  }
  bool empty() const { return actions_.empty(); }
  void clear() { actions_.clear(); }

  // Runs the actions that are due, in the order they were added; an action may add more.
  void run_due() {
    for (bool again = true; again;) {
      again = false;
      for (std::size_t i = 0; i < actions_.size(); ++i) {
        if (actions_[i].due > run_clock::now()) continue;
        auto act = std::move(actions_[i].act);
        actions_.erase(actions_.begin() + static_cast<long>(i));
        act();
        again = true;
        break;
      }
    }
  }

 private:
  struct action {
    run_clock::time_point due;
    std::function<void()> act;
  };
  std::vector<action> actions_;
};

}  // namespace faultmux
