// The results model of a run and its writers: results.json (the source of
// truth, schema "faultmux-results/3") and junit.xml (for CI). Plain data:
// nothing here knows about the driver, the mux or the faults.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "reports/verdict.hpp"

namespace faultmux::reports {

// /3 added the `explore` section; a /2 document is a /3 one without it.
inline constexpr const char* schema_version = "faultmux-results/3";
// results.json lists at most this many faults of a scenario one by one (in
// the order they fired); fault_counts covers every one of them.
inline constexpr std::size_t fault_list_cap = 500;

// Versions of the libraries faultmux was built with (from their headers), and
// of Debian's python3-mitogen when installed ("" when not).
struct library_versions {
  std::string boost, fmt, spdlog, nlohmann_json, tomlplusplus, cli11, python3_mitogen;
};

struct host_info {
  std::string kernel;          // uname: sysname release version machine
  int cores = 0;               // online CPUs
  long somaxconn = -1;         // /proc/sys/net/core/somaxconn; -1 unknown
  long long nofile_soft = -1;  // RLIMIT_NOFILE; -1 unlimited
  long long nofile_hard = -1;
  std::string compiler;      // the compiler that built faultmux
  std::string git_revision;  // of the checkout; "" when unknown
  library_versions libraries;
};

struct run_info {
  std::optional<std::uint64_t> seed;  // --seed, when one was given for every scenario
  std::string faultmux_version;       // "0.2.0 (git REVISION)", as --version prints it
  std::string command_line;
  std::string started;  // UTC, ISO 8601
  double duration_s = 0;
  host_info host;
};

struct oracle_entry {
  std::string name;
  reports::verdict verdict = reports::verdict::pass;  // pass, fail, not applicable
  std::vector<std::string> evidence;
};

// An injected fault, as the run's timeline recorded it.
struct fault_entry {
  double at_s = 0;     // seconds from the run's first event
  std::string source;  // the events file: "faults" (the shim), "driver", "worker-killed-0"
  long long pid = -1;  // the process that recorded it
  std::string kind;    // syscall, signal, resume, nofile, restore, phase
  std::string what;    // the rule, signal or phase, and its effect
  // The fault as declared (a shim rule fires many times, each a `what` of
  // its own): what fault_counts groups by; "" means `what`.
  std::string rule;
};

// Something that happened to one process, for its timeline row.
struct mark {
  double t = 0;      // seconds from the scenario's first event
  std::string kind;  // spawn, connected, handshake, call, fault, disconnect, killed,
                     // stopped, resumed, exit, error
  std::string text;
};

// One process of a run, a row of its timeline.
struct process_row {
  std::string name;   // "mux", "smoke" (a context), "worker-good-3", "probe"
  std::string role;   // mux, context, worker, probe
  std::string group;  // the worker group; "" for others
  int index = 0;      // within its group (or among the contexts)
  long long pid = -1;
  double start_s = 0;
  std::optional<double> end_s;  // nullopt: still running when the run ended
  // ok, disconnected, killed, failed, refused, timeout, running, exited; "never connected"
  // (its connect or handshake failed); "not started" (a placeholder: the run never started it).
  std::string outcome;
  std::vector<mark> marks;
};

struct group_row {
  std::string name;
  std::string role;                     // worker, context
  int count = 0;                        // processes in the group
  std::map<std::string, int> outcomes;  // outcome -> processes
};

struct timeline_info {
  double duration_s = 0;  // the end of the drawn span
  std::vector<process_row> processes;
  int processes_omitted = 0;
  std::vector<group_row> groups;
};

struct latency_bucket {
  double le_ms = 0;  // upper bound; the lower is the previous bucket's
  int count = 0;     // values in (previous le_ms, le_ms]: not cumulative
};

struct latency_summary {
  int count = 0;
  double mean_ms = 0, p50_ms = 0, p90_ms = 0, p99_ms = 0, max_ms = 0;
  std::vector<latency_bucket> buckets;
};

struct resource_sample {
  double t = 0;  // seconds from the scenario's first event
  long long fds = 0;
  long long rss_kib = 0;
  // Connections waiting in the listening socket's accept queue (its Recv-Q);
  // nullopt when the listener could not be read.
  std::optional<long long> accept_queue;
};

// The target (mux) process sampled over the run.
struct resource_info {
  long long pid = -1;
  int interval_ms = 0;
  std::optional<long long> baseline_fds;    // right after it listened, before any worker
  std::optional<long long> listen_backlog;  // the accept queue's limit, as the kernel has it
  std::vector<resource_sample> samples;
};

// What the target was started with (the effective values: a backlog of 0
// in the scenario is the number of workers).
struct target_settings {
  int backlog = 0;
  std::uint64_t max_message_size = 0;
  std::uint64_t output_cap = 0;
  int handshake_timeout_ms = 0;
  int shutdown_grace_ms = 0;
  bool unidirectional = false;
};

// A span during which a fault held: SIGSTOP..SIGCONT, lowered RLIMIT_NOFILE..restore.
struct fault_window {
  double from_s = 0, to_s = 0;
  std::string what;
};

// A stretch of one scenario's run, in wall time: spawn (the mux and the
// workers started), traffic (the workers' work and the probe), stop (the
// workers and the mux ended and reaped), judge (the oracles and the
// report's shaping). In that order; together about the run's duration.
struct phase_entry {
  std::string name;
  double seconds = 0;
};

// A soak's figures (faultmux run --soak): how long and how much, and the
// slope per minute of each sampled value of the mux (rss_kib, fds, threads)
// over the second half, beside the bound the soak judged it by.
struct soak_metric {
  std::string name;
  std::optional<double> slope_per_min;  // nullopt: too few samples to fit
  double bound_per_min = 0;
};

struct soak_info {
  double seconds = 0;
  long long cycles = 0;    // cycling workers that ended
  long long messages = 0;  // answered
  long long lost = 0;      // cycling workers that lost a message, failed or hung
  std::vector<soak_metric> metrics;
};

struct scenario_entry {
  std::string file;
  std::string name;
  std::string origin;
  std::string target = "builtin";
  // What an external target said it is: "mitogen 0.3.3 /usr/lib/python3/dist-packages"
  // (the Mitogen and the directory it was imported from); "" when it said nothing.
  std::string target_version;
  reports::verdict verdict = reports::verdict::pass;  // pass, fail, error, not applicable
  // One plain line of what happened, for a run that did not pass ("1 of 40
  // workers could not connect (EAGAIN at connect); 0 lost after connecting;
  // the listener survived"); "" when it passed.
  std::string headline;
  // What the harness itself could not do, shown before everything else: a
  // group that did not start, a declared fault that never fired.
  std::vector<std::string> notices;
  std::optional<target_settings> settings;  // nullopt: not a scenario's target (the smoke run)
  std::uint64_t seed = 0;
  double duration_s = 0;
  std::vector<oracle_entry> oracles;
  std::vector<fault_entry> faults;
  std::string rerun;                     // the command that reruns it exactly
  int repeat = 1;                        // 1-based repetition (faultmux run --repeat N)
  std::vector<std::string> legacy_bugs;  // enabled in the mux for this run
  std::string description;
  int workers_total = 0;                   // workers started
  double spawn_ms = 0;                     // from the first worker spawned to the last
  std::optional<timeline_info> timeline;   // nullopt: not run (null in the JSON)
  std::optional<latency_summary> latency;  // nullopt: no call or round trip measured
  std::optional<resource_info> resources;  // nullopt: no target process sampled
  std::vector<fault_window> windows;
  std::vector<phase_entry> phases;  // empty: not timed (an entry not from the driver)
  std::optional<soak_info> soak;    // a soak's run only
};

struct results {
  run_info run;
  std::vector<scenario_entry> scenarios;
  // `faultmux explore`'s explorations, one per scenario (certificate,
  // unstable_points, runs), as the explorer built them: written as they are.
  std::vector<nlohmann::json> explore;
};

// This machine, as a report needs to describe it.
host_info collect_host_info();
// Library versions from the headers faultmux was built with; python3-mitogen's
// from its installed __init__.py (read, not run).
library_versions collect_library_versions();
// Mitogen's "__version__ = (0, 3, 3)" line in `init_py` as "0.3.3"; "" when
// the file or the line is missing.
std::string mitogen_version(const std::string& init_py);
// The current time, UTC, ISO 8601.
std::string utc_now();

nlohmann::json to_json(const results& r);
// A results.json's `run` read back (what is missing keeps its default), for
// a report that carries a run on, as `faultmux report` does merging shards.
run_info run_info_from_json(const nlohmann::json& run);
std::string to_junit(const results& r);
// Text for XML character data or a quoted attribute; characters XML 1.0
// cannot hold at all are replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// Writes dir/results.json and dir/junit.xml (making dir); "" or what failed.
std::string write_reports(const results& r, const std::string& dir);
// Writes dir/results.json alone (making dir), for a caller with junit of
// its own; "" or what failed.
std::string write_results_json(const results& r, const std::string& dir);

}  // namespace faultmux::reports
