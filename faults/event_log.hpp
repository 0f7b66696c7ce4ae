// The fault layer's own JSON-lines event writer: the same line shape as every
// faultmux event ({"t": CLOCK_MONOTONIC seconds, "pid", "role", "event",
// fields...}), so the driver merges these lines with the mux's and workers'.
// Lines are built and written by wire/ (the one event-line writer).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "wire/event_field.hpp"
#include "wire/event_file.hpp"

namespace faultmux::faults {

// Seconds on CLOCK_MONOTONIC: the clock of every faultmux event.
double monotonic_seconds();

class event_log {
 public:
  using field = wire::event_field;

  event_log() = default;  // disabled: emit() does nothing
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  // Appends to `path` (created 0644); an empty path leaves the log disabled.
  // Returns 0, or the errno when the file cannot be opened.
  int open(const std::string& path, std::string role);
  bool enabled() const { return file_.is_open(); }

  // One line, written with one write(2) to an O_APPEND fd: whole lines even
  // with many writers on one file.
  void emit(std::string_view event, std::initializer_list<field> fields = {}) const {
    emit(event, fields.begin(), fields.end());
  }
  void emit(std::string_view event, const field* first, const field* last) const;

 private:
  wire::event_file file_;
  std::string role_;
};

}  // namespace faultmux::faults
