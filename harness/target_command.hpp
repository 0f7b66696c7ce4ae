// The target's command line: the built-in mux, an external target (Mitogen
// through scenarios/mitogen_mux.py, or a scenario's own command) or the
// fake listener, with the syscall shim's environment in front when the
// scenario has syscall faults. Pure functions, so they are unit-testable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "harness/deadline.hpp"
#include "harness/fault_packages/fault_package.hpp"
#include "harness/scenario.hpp"

namespace faultmux {

// Where one run of a scenario keeps its files.
struct run_paths {
  std::string dir;     // the run directory: events, stderr, faults.log
  std::string socket;  // the target's listening path, dir/mux.sock

  explicit run_paths(std::string d = "")
      : dir(std::move(d)), socket(dir.empty() ? "" : dir + "/mux.sock") {}
  std::string events(const std::string& process) const { return dir + "/" + process + ".events"; }
};

// What the target's command is made of besides the scenario.
struct target_launch {
  std::string self;                      // the faultmux binary
  std::vector<std::string> legacy_bugs;  // --legacy-bug for the built-in mux
  target_faults faults;                  // from the fault packages
};

// The target a scenario runs against under --target `option` ("builtin"
// or "mitogen"): its own, or Mitogen's with its limits. A fake listener is
// what its scenario is about (the client's side): it stays.
target_spec effective_target(const target_spec& own, const std::string& option,
                             const std::string& mitogen_src = "");
// That target's name for the report: builtin, mitogen, external, fake-listener.
std::string target_name(const target_spec& own, const std::string& option);

// The listen backlog: the target's own, or one slot per worker (as Ansible
// sets it to its forks).
int target_backlog(const scenario& s, const target_spec& t);

// The argv of target `t` (the effective target: the scenario's, or
// Mitogen's under --target mitogen) for scenario `s`, without the shim.
std::vector<std::string> target_argv(const scenario& s, const target_spec& t,
                                     const target_launch& l, const run_paths& p);

// "/usr/bin/env ASAN_OPTIONS=... LD_PRELOAD=SHIM FAULTMUX_FAULTS=R1;R2 ...":
// what goes before the target's argv; empty when there are no rules and no
// `env` (VAR=VALUE for the shim, e.g. FAULTMUX_SIGNALS). `asan_options`: the
// driver's ASAN_OPTIONS, or null.
std::vector<std::string> shim_prefix(const std::string& shim, const std::vector<std::string>& rules,
                                     std::uint64_t seed, const run_paths& p,
                                     const char* asan_options,
                                     const std::vector<std::string>& env = {});

// How long the target has to exit after SIGTERM: its own shutdown grace
// (the effective target's), and 3 s to exit after it.
ms target_stop_grace(const target_spec& t);

}  // namespace faultmux
