// The results model of a run and its writers: results.json (the source of
// truth, schema "faultmux-results/1") and junit.xml (for CI). Plain data:
// nothing here knows about the driver, the mux or the faults.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux::reports {

inline constexpr const char* schema_version = "faultmux-results/1";

struct host_info {
  std::string kernel;          // uname: sysname release version machine
  int cores = 0;               // online CPUs
  long somaxconn = -1;         // /proc/sys/net/core/somaxconn; -1 unknown
  long long nofile_soft = -1;  // RLIMIT_NOFILE; -1 unlimited
  long long nofile_hard = -1;
  std::string compiler;      // the compiler that built faultmux
  std::string git_revision;  // of the checkout; "" when unknown
};

struct run_info {
  std::optional<std::uint64_t> seed;  // --seed, when one was given for every scenario
  std::string command_line;
  std::string started;  // UTC, ISO 8601
  double duration_s = 0;
  host_info host;
};

struct oracle_entry {
  std::string name;
  std::string verdict;  // pass, fail, not applicable
  std::vector<std::string> evidence;
};

// An injected fault, as the run's timeline recorded it.
struct fault_entry {
  double at_s = 0;     // seconds from the run's first event
  std::string source;  // the events file: "faults" (the shim), "driver", "worker-killed-0"
  long long pid = -1;  // the process that recorded it
  std::string kind;    // syscall, signal, resume, nofile, restore, phase
  std::string what;    // the rule, signal or phase, and its effect
};

struct scenario_entry {
  std::string file;
  std::string name;
  std::string origin;
  std::string target = "builtin";
  std::string verdict;  // pass, fail, error (could not be run)
  std::uint64_t seed = 0;
  double duration_s = 0;
  std::vector<oracle_entry> oracles;
  std::vector<fault_entry> faults;
  std::string rerun;  // the command that reruns it exactly
};

struct results {
  run_info run;
  std::vector<scenario_entry> scenarios;
};

// This machine, as a report needs to describe it.
host_info collect_host_info();
// The current time, UTC, ISO 8601.
std::string utc_now();

nlohmann::json to_json(const results& r);
std::string to_junit(const results& r);
// Text for XML character data or a quoted attribute; characters XML 1.0
// cannot hold at all are replaced by U+FFFD.
std::string xml_escape(std::string_view text);

// Writes dir/results.json and dir/junit.xml (making dir); "" or what failed.
std::string write_reports(const results& r, const std::string& dir);

}  // namespace faultmux::reports
