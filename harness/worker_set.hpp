// The workers of one run: their processes, the context ids they said, and
// how they are waited for and ended. A worker still running when it should
// have finished is a hang, diagnosed from /proc, never a hung driver.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/scenario.hpp"
#include "roles/process.hpp"

namespace faultmux {

struct worker_proc {
  std::string name;
  const worker_group* group = nullptr;
  int index = 0;  // within its group
  child_process proc;
  std::optional<std::uint32_t> id;
  bool done_reading = false;
  // serve and connect workers stay until the mux goes; the rest end on their own.
  bool long_lived() const;
};

class worker_set {
 public:
  std::deque<worker_proc>& all() { return workers_; }
  const std::deque<worker_proc>& all() const { return workers_; }
  void add(worker_proc w) {
    workers_.push_back(std::move(w));
    look_again_ = true;
  }

  // The live workers of `group`.
  std::vector<pid_t> live_pids(const std::string& group) const;
  // Every serve worker's context id, in the order they said them.
  const std::vector<std::uint32_t>& serve_ids() const { return serve_ids_; }
  // The context ids said so far, by group.
  std::map<std::string, std::vector<std::uint32_t>> ids_by_group() const;

  // Reads the serve workers' hello lines until each said its id or ended,
  // calling `tick` between rounds; stops early when `give_up` says so.
  void read_serve_ids(const std::function<void()>& tick, const std::function<bool()>& give_up);
  // Short-lived workers ended; serve and connect workers said their id or ended.
  bool settled(worker_proc& w);
  // Every worker settled. Cheap to call often: it looks at the workers only
  // when one may have settled since it last did.
  bool all_settled();
  // What each unsettled worker is doing, from /proc.
  std::vector<std::string> diagnose_unsettled();
  void kill_unsettled();
  // A worker has not exited yet.
  bool any_running();
  // SIGTERM to every live worker, then `await_exit`.
  void terminate(std::vector<std::string>& hang, const std::function<bool()>& stop);
  // Gives every worker worker_exit_grace to exit; one still running is a hang, and is killed.
  void await_exit(const char* after, std::vector<std::string>& hang,
                  const std::function<bool()>& stop);
  void kill_all();

 private:
  std::deque<worker_proc> workers_;
  std::vector<std::uint32_t> serve_ids_;
  // The last look found only short-lived workers unsettled, which settle
  // only by exiting: until a child exits or a worker is added, none will.
  bool look_again_ = true;
  std::chrono::steady_clock::time_point next_look_{};
};

// SIGKILL and a bounded wait for a process still running.
void kill_and_reap(child_process& p);

}  // namespace faultmux
