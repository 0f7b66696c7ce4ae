// The one reader of faultmux event lines: a file of JSON lines (every
// process's events, the shim's fault log) read into events. Only complete
// lines count: a line still being written (no newline yet) or one that is
// not a JSON object is skipped, so a file can be read while it grows.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace faultmux::wire {

// One line: its time, where it came from, and the line itself, whose fields
// are read when asked for. A run has hundreds of thousands of events: a
// parsed JSON object each cost over a kilobyte and most of the judging time.
class event_record {
 public:
  double t = 0;        // "t": CLOCK_MONOTONIC seconds
  std::string source;  // the file it came from, without ".events": "mux", "worker-good-3"

  event_record() = default;
  // `line` when it is one JSON object (else nothing), tagged with `source`.
  static std::optional<event_record> parse(std::string_view line, std::string source);
  // An event made of `fields` (tests, and events converted from other logs).
  static event_record of(double t, std::string source, const nlohmann::json& fields);

  const std::string& event() const { return event_; }
  pid_t pid() const { return pid_; }
  // A string field, or "" when missing or not a string.
  std::string str(std::string_view key) const;
  // An integer field, or `fallback` when missing or not a number.
  long long num(std::string_view key, long long fallback = -1) const;
  // A number field, or `fallback` when missing or not a number.
  double real(std::string_view key, double fallback) const;
  // A boolean field, or `fallback` when missing or not a boolean.
  bool flag(std::string_view key, bool fallback) const;
  bool has(std::string_view key) const { return raw(key).has_value(); }
  // Every field, parsed (for the few readers that need them all).
  nlohmann::json fields() const;
  // Sets one field (tests that vary a recorded event).
  void set(std::string_view key, const nlohmann::json& value);
  const std::string& line() const { return line_; }

 private:
  // The JSON text of field `key`'s value.
  std::optional<std::string_view> raw(std::string_view key) const;

  std::string line_;
  std::string event_;  // its "event" field, read on every pass of every oracle
  pid_t pid_ = -1;
};

// Every complete JSON-object line of `text`, tagged with `source`.
std::vector<event_record> parse_event_lines(std::string_view text, const std::string& source);
// The same for the file at `path`; a missing or unreadable file has none.
std::vector<event_record> read_event_file(const std::string& path, const std::string& source);

}  // namespace faultmux::wire
