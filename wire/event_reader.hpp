// The one reader of faultmux event lines: a file of JSON lines (every
// process's events, the shim's fault log) read into events. Only complete
// lines count: a line still being written (no newline yet) or one that is
// not a JSON object is skipped, so a file can be read while it grows.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux::wire {

// One line: its time, where it came from and the whole line.
struct event_record {
  double t = 0;         // "t": CLOCK_MONOTONIC seconds
  std::string source;   // the file it came from, without ".events": "mux", "worker-good-3"
  nlohmann::json data;  // the whole line

  std::string event() const { return str("event"); }
  // A string field, or "" when missing or not a string.
  std::string str(const char* key) const;
  // An integer field, or `fallback` when missing or not a number.
  long long num(const char* key, long long fallback = -1) const;
  pid_t pid() const { return static_cast<pid_t>(num("pid")); }
};

// Every complete JSON-object line of `text`, tagged with `source`.
std::vector<event_record> parse_event_lines(std::string_view text, const std::string& source);
// The same for the file at `path`; a missing or unreadable file has none.
std::vector<event_record> read_event_file(const std::string& path, const std::string& source);

}  // namespace faultmux::wire
