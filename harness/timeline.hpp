// One run's timeline: every process's events file and the shim's fault log,
// merged and sorted by time (CLOCK_MONOTONIC seconds, one clock for every
// process of the machine). The oracles and the reports read only this.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux {

struct timeline_event {
  double t = 0;
  std::string source;   // the file it came from, without ".events": "mux", "worker-good-3"
  nlohmann::json data;  // the whole line

  std::string event() const { return str("event"); }
  // A string field, or "" when missing or not a string.
  std::string str(const char* key) const;
  // An integer field, or `fallback` when missing or not a number.
  long long num(const char* key, long long fallback = -1) const;
  pid_t pid() const { return static_cast<pid_t>(num("pid")); }
};

using timeline = std::vector<timeline_event>;

// Every complete JSON line of `path` tagged with `source`; a line still being
// written (no newline) or not JSON is skipped.
timeline read_events_file(const std::string& path, const std::string& source);
// Every "*.events" file of `dir` and its fault log "faults.log" (source
// "faults"), merged and sorted by time; equal times keep file order.
timeline load_timeline(const std::string& dir);
// Sorts by time, keeping the order of equal times.
void sort_timeline(timeline& tl);

// A logged error: a "log" event at level error or critical.
bool is_error_line(const timeline_event& e);

}  // namespace faultmux
