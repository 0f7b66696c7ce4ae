// Signal faults: the driver signals the mux or a worker group's live
// processes at a time of the scenario; a SIGSTOP may be healed by SIGCONT.
#include <signal.h>

#include <cerrno>

#include "faults/signal_fault.hpp"
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

class signal_faults final : public fault_package {
 public:
  explicit signal_faults(const scenario& s) {
    for (std::size_t i = 0; i < s.faults.size(); ++i)
      if (s.faults[i].kind == fault_spec::kind_t::signal) faults_.push_back({i, s.faults[i]});
  }

  // Before the workers: at once; otherwise at_ms after they started.
  void schedule(fault_scene& scene, run_point point, run_clock::time_point now) override {
    for (const auto& f : faults_) {
      if (f.spec.before_workers != (point == run_point::target_listening)) continue;
      scene.at(f.spec.before_workers ? now : now + ms(f.spec.at_ms),
               [this, &scene, &f] { apply(scene, f); });
    }
  }

  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    const std::string kind = e.str("kind");
    if (kind != "signal" && kind != "resume") return std::nullopt;
    return driver_fault_entry(e, t0);
  }

 private:
  struct fault {
    std::size_t index;  // in the scenario's faults
    fault_spec spec;
  };

  void apply(fault_scene& scene, const fault& f) {
    int sig = faults::parse_signal(f.spec.signal).value_or(SIGTERM);
    for (pid_t pid : scene.processes(f.spec.process)) {
      int err = ::kill(pid, sig) == 0 ? 0 : errno;
      scene.record("signal", f.index, pid, f.spec.signal, err);
    }
    if (sig == SIGSTOP && f.spec.resume_after_ms >= 0)
      scene.at(run_clock::now() + ms(f.spec.resume_after_ms),
               [this, &scene, &f] { heal(scene, f); });
  }

  // SIGCONT to the processes stopped.
  void heal(fault_scene& scene, const fault& f) {
    for (pid_t pid : scene.processes(f.spec.process)) {
      int err = ::kill(pid, SIGCONT) == 0 ? 0 : errno;
      scene.record("resume", f.index, pid, "SIGCONT", err);
    }
  }

  std::vector<fault> faults_;
};

}  // namespace

std::unique_ptr<fault_package> signal_package(const scenario& s) {
  return std::make_unique<signal_faults>(s);
}

}  // namespace faultmux
