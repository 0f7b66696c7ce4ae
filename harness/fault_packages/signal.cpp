// Signal faults: the driver signals the mux or a worker group's live
// processes at a time of the scenario; a SIGSTOP may be healed by SIGCONT.
// A fault may send a `sequence` of further signals, each after its gap, or
// be a storm: its signal sent storm_hz times a second for storm_ms, from a
// thread of its own (the driver's loops are too coarse for 1 kHz). A storm
// at the mux gives the stormed signal a handler without SA_RESTART there
// (the shim's FAULTMUX_SIGNALS), as a host program's timer handler would, so
// each signal interrupts a blocking call with EINTR instead of killing the
// mux or being ignored.
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>

#include <fmt/format.h>

#include "faults/signal_fault.hpp"
#include "harness/fault_packages/fault_package.hpp"

namespace faultmux {
namespace {

// Sends sig to pids `hz` times a second until `until` or a stop request;
// counts the signals delivered.
void storm(std::stop_token stop, std::vector<pid_t> pids, int sig, int hz,
           run_clock::time_point until, std::atomic<long>* sent) {
  const auto period = std::chrono::nanoseconds(1'000'000'000 / hz);
  auto next = run_clock::now();
  while (!stop.stop_requested() && next < until) {
    for (pid_t pid : pids)
      if (::kill(pid, sig) == 0) sent->fetch_add(1, std::memory_order_relaxed);
    next += period;
    // Behind schedule (a loaded machine): go on from now, never in a burst.
    if (next < run_clock::now()) next = run_clock::now();
    std::this_thread::sleep_until(next);
  }
}

class signal_faults final : public fault_package {
 public:
  explicit signal_faults(const scenario& s) {
    for (std::size_t i = 0; i < s.faults.size(); ++i)
      if (s.faults[i].kind == fault_spec::kind_t::signal)
        faults_.push_back(std::make_unique<fault>(i, s.faults[i]));
  }

  // Stormed signals get their handler in the mux before it runs.
  void shape_target(target_faults& t) const override {
    std::string names;
    for (const auto& f : faults_)
      if (f->spec.storm_hz > 0 && f->spec.process == "mux" &&
          names.find(f->spec.signal) == std::string::npos)
        names += (names.empty() ? "" : ",") + f->spec.signal;
    if (!names.empty()) t.shim_env.push_back("FAULTMUX_SIGNALS=" + names);
  }

  // Before the workers: at once; otherwise at_ms after they started.
  void schedule(fault_scene& scene, run_point point, run_clock::time_point now) override {
    for (const auto& f : faults_) {
      if (f->spec.before_workers != (point == run_point::target_listening)) continue;
      auto due = f->spec.before_workers ? now : now + ms(f->spec.at_ms);
      scene.at(due, [this, &scene, f = f.get()] { apply(scene, *f); });
      for (std::size_t k = 0; k < f->spec.sequence.size(); ++k) {
        due += ms(f->spec.gaps_ms[k]);
        scene.at(due, [&scene, f = f.get(), k] { send(scene, *f, f->spec.sequence[k]); });
      }
    }
  }

  std::optional<reports::fault_entry> describe(const timeline_event& e, double t0) const override {
    const std::string kind = e.str("kind");
    if (kind != "signal" && kind != "resume") return std::nullopt;
    return driver_fault_entry(e, t0);
  }

 private:
  struct fault {
    fault(std::size_t i, const fault_spec& s) : index(i), spec(s) {}
    std::size_t index;  // in the scenario's faults
    fault_spec spec;
    std::atomic<long> sent{0};
    std::jthread storm;  // joined (stopped first) when the package goes
  };

  static void send(fault_scene& scene, const fault& f, const std::string& name) {
    int sig = faults::parse_signal(name).value_or(SIGTERM);
    for (pid_t pid : scene.processes(f.spec.process)) {
      int err = ::kill(pid, sig) == 0 ? 0 : errno;
      scene.record("signal", f.index, pid, name, err);
    }
  }

  void apply(fault_scene& scene, fault& f) {
    if (f.spec.storm_hz > 0) return start_storm(scene, f);
    send(scene, f, f.spec.signal);
    if (f.spec.signal == "SIGSTOP" && f.spec.resume_after_ms >= 0)
      scene.at(run_clock::now() + ms(f.spec.resume_after_ms),
               [this, &scene, &f] { heal(scene, f); });
  }

  // One event as the storm starts, one with its count as it ends.
  void start_storm(fault_scene& scene, fault& f) {
    auto pids = scene.processes(f.spec.process);
    int sig = faults::parse_signal(f.spec.signal).value_or(SIGCHLD);
    auto until = run_clock::now() + ms(f.spec.storm_ms);
    for (pid_t pid : pids)
      scene.record("signal", f.index, pid,
                   fmt::format("{} storm at {} Hz for {} ms", f.spec.signal, f.spec.storm_hz,
                               f.spec.storm_ms),
                   0);
    f.storm = std::jthread(storm, pids, sig, f.spec.storm_hz, until, &f.sent);
    scene.at(until + ms(20), [&scene, &f, pids] {
      f.storm = {};  // joins
      for (pid_t pid : pids)
        scene.record("signal", f.index, pid,
                     fmt::format("{} storm over: {} signals sent", f.spec.signal, f.sent.load()),
                     0);
    });
  }

  // SIGCONT to the processes stopped.
  void heal(fault_scene& scene, const fault& f) {
    for (pid_t pid : scene.processes(f.spec.process)) {
      int err = ::kill(pid, SIGCONT) == 0 ? 0 : errno;
      scene.record("resume", f.index, pid, "SIGCONT", err);
    }
  }

  std::vector<std::unique_ptr<fault>> faults_;
};

}  // namespace

std::unique_ptr<fault_package> signal_package(const scenario& s) {
  return std::make_unique<signal_faults>(s);
}

}  // namespace faultmux
