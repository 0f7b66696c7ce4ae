// `faultmux run`: runs scenarios against the built-in mux. For each one it
// makes a run directory, starts the mux (under the syscall shim when the
// scenario has syscall faults) and the worker groups, drives the timed
// faults, probes the listener, stops the mux, reaps every process (a hang is
// a failure with a diagnosis, never a hung driver), merges the events into a
// timeline and judges it with the oracles.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "harness/oracles.hpp"
#include "harness/scenario.hpp"
#include "harness/timeline.hpp"
#include "reports/results.hpp"

namespace faultmux {

struct driver_options {
  std::vector<std::string> paths;  // scenario files, or directories of *.toml
  std::optional<std::uint64_t> seed;
  std::string filter;        // glob over scenario names; empty: all
  int verbosity = 0;         // -v: every oracle's evidence, and keep a failed run's directory
  std::string self;          // the faultmux binary, re-executed for the mux and workers
  std::string shim;          // libfaultmux_shim.so; empty: default_shim_path(self)
  std::string report_dir;    // --report: results.json and junit.xml go here; empty: none
  bool report_html = false;  // and index.html (`run`; the suite renders its own, with history)
  std::string command_line;  // for the report
  // --target: "builtin" (each scenario's own [target]) or "mitogen" (every
  // scenario against Mitogen 0.3.3 through scenarios/mitogen_mux.py).
  std::string target = "builtin";
  // --mitogen-src: the Mitogen source tree --target mitogen imports; "": the
  // installed python3-mitogen.
  std::string mitogen_src;
  // --legacy-bug: passed to the built-in mux, so it fails like old Mitogen;
  // run_driver runs each scenario without them too.
  std::vector<std::string> legacy_bugs;
  // --with-mitogen (suite): also run every scenario against Mitogen 0.3.3;
  // those results are reported as findings and do not change the exit status.
  bool with_mitogen = false;
  int repeat = 1;  // --repeat: run each scenario this many times, with the same seed
  int jobs = 1;    // --jobs: scenarios run at once
  // Called with each run's timeline and what the driver saw, once judged
  // (`faultmux explore` reads what the run did from them).
  std::function<void(const timeline&, const run_outcome&)> observe;
  // Entries the report lists before the scenarios (the suite's smoke run).
  std::vector<reports::scenario_entry> prelude;
};

// One run of a scenario: what its users (the CLI, suite, mutants, shrink)
// need, and `report`, the parts only the report shows, which the driver
// fills as it goes; report_entry() completes it.
struct scenario_result {
  std::string name;
  std::string file;
  std::string target = "builtin";  // builtin, mitogen, external, fake-listener
  std::string mitogen_src;         // the Mitogen source tree of a mitogen target; "": installed
  // What an external target said it is: "mitogen 0.3.3 /usr/lib/python3/dist-packages".
  std::string target_version;
  std::uint64_t seed = 0;
  int repeat = 1;       // which repetition of --repeat, from 1
  bool passed = false;  // nothing failed
  // Nothing failed, but the target cannot serve what the scenario is about
  // (the calls of these groups): "not applicable", not a pass.
  std::vector<std::string> unserved;
  bool error = false;  // could not be run (setup failed, or interrupted)
  bool interrupted = false;
  double seconds = 0;
  double start_ms = 0;  // from the first worker spawned to the last
  std::vector<oracle_result> oracles;
  std::string kept_dir;                  // the run directory when it was kept (failed, -v)
  std::vector<std::string> legacy_bugs;  // enabled in the mux for this run
  // origin, description, workers_total, faults, timeline, latency,
  // resources and windows; empty when nothing ran.
  reports::scenario_entry report;
};

// The result's verdict for the report: error, fail, not applicable or pass.
reports::verdict verdict_of(const scenario_result& r);

// "./faultmux" when the working directory holds the entry point (a
// checkout's root), else "faultmux": how a printed command starts.
std::string faultmux_command();
// "faultmux run FILE --seed N [--legacy-bug NAME...]": repeats one result.
std::string rerun_command(const scenario_result& r);
// The same for `file` run with `d`'s target, Mitogen tree and legacy bugs.
std::string rerun_command(const std::string& file, std::uint64_t seed, const driver_options& d);

// The shim of the faultmux binary at `self` (harness/install_paths.hpp).
std::string default_shim_path(const std::string& self);

// Where run directories are made: $TMPDIR, else /tmp.
std::string run_dir_base();

// Scenario files of the paths: files as given, each directory's *.toml in
// name order. Throws scenario_error naming a path that is neither.
std::vector<std::string> scenario_files(const std::vector<std::string>& paths);

// Every injected fault of a run's timeline, timed from its first event.
std::vector<reports::fault_entry> faults_of(const timeline& tl);

// The report entry of one result: verdict, oracles, faults, rerun command.
reports::scenario_entry report_entry(const scenario_result& r);

// What a scenario under way has done so far, for a progress line.
struct scenario_progress {
  std::atomic<int> workers_started{0};
};

// Runs one scenario with `seed`; counts its workers into `progress` if given.
scenario_result run_scenario(const scenario& s, std::uint64_t seed, const driver_options& o,
                             scenario_progress* progress = nullptr);

// SIGINT, SIGTERM or SIGHUP ends the scenarios in progress (their processes
// killed and reaped) and starts no new one.
void stop_on_interrupt();
bool interrupt_requested();

// The CLI: one line per scenario, "rerun: ..." for each failure. Exit status
// 0 all passed, 1 some failed, 2 bad input, 130 interrupted (SIGINT).
int run_driver(const driver_options& o);

}  // namespace faultmux
