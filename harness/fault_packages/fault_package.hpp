// Fault packages: one object per kind of fault a scenario declares (syscall,
// signal, nofile, context, phase), each knowing when its faults act, how
// they are applied and healed, and how the report names what fired. The
// driver iterates the packages; it never switches on a fault's kind.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harness/deadline.hpp"
#include "harness/scenario.hpp"
#include "harness/timeline.hpp"
#include "reports/results.hpp"

namespace faultmux {

// What the packages can reach of the run under way; the driver provides it.
class fault_scene {
 public:
  virtual ~fault_scene() = default;
  // The live processes named by a fault's `process`: "mux", or a worker group.
  virtual std::vector<pid_t> processes(const std::string& process) const = 0;
  // Runs `act` from the driver's loops once `due` has come.
  virtual void at(run_clock::time_point due, std::function<void()> act) = 0;
  // A "fault" event in driver.events: the report and the oracles read it.
  virtual void record(const char* kind, std::size_t index, pid_t pid, const std::string& what,
                      int err) = 0;
};

// What the faults add to the target's launch: shim rules (preloaded through
// LD_PRELOAD) and arguments of the built-in mux.
struct target_faults {
  std::vector<std::string> shim_rules;
  std::vector<std::string> shim_env;  // VAR=VALUE for the shim alone (it is loaded for them)
  std::vector<std::string> mux_args;
};

// When the driver hands the packages the clock.
enum class run_point {
  target_listening,  // the target listens; no worker has started yet
  workers_started,   // every worker group has been started (or scheduled)
};

class fault_package {
 public:
  virtual ~fault_package() = default;
  // Before the target starts: its shim rules and mux arguments.
  virtual void shape_target(target_faults&) const {}
  // The extra arguments of worker `index` of the group.
  virtual void shape_worker(const worker_group&, int /*index*/, std::vector<std::string>&) const {}
  // At `point` (reached at `now`): schedules its faults' apply and heal.
  virtual void schedule(fault_scene&, run_point, run_clock::time_point) {}
  // The report's entry for a "fault" event this kind recorded; nullopt when
  // the event is another kind's. `t0`: the timeline's first event.
  virtual std::optional<reports::fault_entry> describe(const timeline_event& e,
                                                       double t0) const = 0;
};

using fault_packages = std::vector<std::unique_ptr<fault_package>>;

// Every kind's package for `s`, in the order they claim events in describe.
fault_packages packages_for(const scenario& s);

// Every injected fault of a timeline, timed from its first event.
std::vector<reports::fault_entry> describe_faults(const fault_packages& packages,
                                                  const timeline& tl);

// An entry's time, source and pid, from the event that recorded the fault.
reports::fault_entry fault_entry_of(const timeline_event& e, double t0);
// The entry of a fault the driver applied: "WHAT (pid N)[: ERRNO]".
reports::fault_entry driver_fault_entry(const timeline_event& e, double t0);
// The entry of a phase fault a worker or a context hit in itself.
reports::fault_entry phase_fault_entry(const timeline_event& e, double t0);

std::unique_ptr<fault_package> syscall_package(const scenario& s);
std::unique_ptr<fault_package> signal_package(const scenario& s);
std::unique_ptr<fault_package> nofile_package(const scenario& s);
std::unique_ptr<fault_package> context_package(const scenario& s);
std::unique_ptr<fault_package> phase_package(const scenario& s);

}  // namespace faultmux
