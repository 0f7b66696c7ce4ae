// Phase faults: each worker of a group (or the one fault_at_index names) hits
// PHASE:ACTION in itself (--fault-at) and logs it. A hostile worker has no
// phases to hit. A SIGSTOP with fault_resume_after_ms is bounded: the driver
// watches for the stopped worker and sends it SIGCONT that long after.
#include <signal.h>

#include <cerrno>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

// Whether /proc says the process is stopped by a signal.
bool stopped(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(in, line)) return false;
  auto paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'T';
}

class phase_faults final : public fault_package {
 public:
  explicit phase_faults(const scenario& s) {
    for (std::size_t i = 0; i < s.workers.size(); ++i)
      if (s.workers[i].fault_resume_after_ms >= 0) bounded_.push_back(&s.workers[i]);
  }

  void shape_worker(const worker_group& g, int index,
                    std::vector<std::string>& argv) const override {
    if (!g.fault_at.empty() && g.workload != worker_group::workload_t::hostile &&
        (g.fault_at_index < 0 || g.fault_at_index == index))
      argv.insert(argv.end(), {"--fault-at", g.fault_at});
  }

  void schedule(fault_scene& scene, run_point point, run_clock::time_point now) override {
    if (point != run_point::workers_started || bounded_.empty()) return;
    started_ = now;
    scene.at(now, [this, &scene] { watch(scene); });
  }

  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    if (e.str("kind") == "resume" && e.source == "driver" && e.str("what") == "SIGCONT (phase)")
      return driver_fault_entry(e, t0);
    if (e.str("kind") != "phase" || e.source.rfind("worker-", 0) != 0) return std::nullopt;
    return phase_fault_entry(e, t0);
  }

 private:
  // Every few ms while a worker that may still stop itself lives, or may
  // still start (start_after_ms, and a second for it to get going); the
  // driver ends a run only once no action is left.
  void watch(fault_scene& scene) {
    bool waiting = false;
    for (const worker_group* g : bounded_) {
      const std::size_t expected = g->fault_at_index >= 0 ? 1 : static_cast<std::size_t>(g->count);
      bool unseen_alive = false;
      for (pid_t pid : scene.processes(g->name)) {
        if (!seen_.count(pid) && stopped(pid)) {
          seen_.insert(pid);
          ++stops_[g];
          scene.at(run_clock::now() + ms(g->fault_resume_after_ms), [&scene, pid] {
            int err = ::kill(pid, SIGCONT) == 0 ? 0 : errno;
            scene.record("resume", 0, pid, "SIGCONT (phase)", err);
          });
        }
        unseen_alive = unseen_alive || !seen_.count(pid);
      }
      const bool may_start = run_clock::now() < started_ + ms(g->start_after_ms + 1000);
      waiting = waiting || ((unseen_alive || may_start) && stops_[g] < expected);
    }
    if (waiting) scene.at(run_clock::now() + ms(2), [this, &scene] { watch(scene); });
  }

  std::vector<const worker_group*> bounded_;
  run_clock::time_point started_;
  std::set<pid_t> seen_;
  std::map<const worker_group*, std::size_t> stops_;
};

}  // namespace

std::unique_ptr<fault_package> phase_package(const scenario& s) {
  return std::make_unique<phase_faults>(s);
}

}  // namespace faultmux
