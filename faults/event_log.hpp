// The fault layer's own JSON-lines event writer: the same line shape as every
// faultmux event ({"t": CLOCK_MONOTONIC seconds, "pid", "role", "event",
// fields...}), so the driver merges these lines with the mux's and workers'.
// Lines are built and written by wire/ (the one event-line writer).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "wire/event_file.hpp"

namespace faultmux::faults {

// Seconds on CLOCK_MONOTONIC: the clock of every faultmux event.
double monotonic_seconds();

class event_log {
 public:
  using value = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;
  struct field {
    std::string_view key;
    value val;
    field(std::string_view k, std::string v) : key(k), val(std::move(v)) {}
    field(std::string_view k, const char* v) : key(k), val(std::string(v)) {}
    field(std::string_view k, std::string_view v) : key(k), val(std::string(v)) {}
    field(std::string_view k, bool v) : key(k), val(v) {}
    field(std::string_view k, double v) : key(k), val(v) {}
    template <typename I>
    requires std::is_integral_v<I> field(std::string_view k, I v) : key(k) {
      if constexpr (std::is_signed_v<I>)
        val = static_cast<std::int64_t>(v);
      else
        val = static_cast<std::uint64_t>(v);
    }
  };

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
