// The faultmux command line: one add_*_command per subcommand. Each registers
// its subcommand, options and help on the app and, when the subcommand is the
// one given, sets `chosen` to the work it does; main then runs it.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace faultmux::cli {

// What main knows about this run, for the commands that need it.
struct invocation {
  std::string self;          // this binary, re-executed for the processes a command starts
  std::string command_line;  // as typed, for the reports
  int verbosity = 0;         // the top-level -v count
};

// A chosen command's work; returns the process exit status.
using runner = std::function<int(const invocation&)>;

// Makes `run` the chosen command once `sub` has been parsed.
inline void on_chosen(CLI::App* sub, runner& chosen, runner run) {
  sub->callback([&chosen, run = std::move(run)] { chosen = run; });
}

void add_mux_command(CLI::App& app, runner& chosen);
void add_worker_command(CLI::App& app, runner& chosen);
void add_context_command(CLI::App& app, runner& chosen);
void add_fake_listener_command(CLI::App& app, runner& chosen);
void add_suite_command(CLI::App& app, runner& chosen);
void add_report_command(CLI::App& app, runner& chosen);
void add_validate_command(CLI::App& app, runner& chosen);
void add_new_command(CLI::App& app, runner& chosen);
void add_run_command(CLI::App& app, runner& chosen);
void add_mutants_command(CLI::App& app, runner& chosen);
void add_shrink_command(CLI::App& app, runner& chosen);
void add_explore_command(CLI::App& app, runner& chosen);
void add_repro_command(CLI::App& app, runner& chosen);
// Hidden: the driver's listener probe, run as a process named "probe" to the shim.
void add_probe_command(CLI::App& app, runner& chosen);
// `fault signal`, `fault nofile` and `fault run`.
void add_fault_command(CLI::App& app, runner& chosen);

}  // namespace faultmux::cli
