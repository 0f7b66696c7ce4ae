// Structured events: every process appends JSON lines (monotonic time, pid,
// role, event, fields) to a file named on its command line. The driver merges
// them into one timeline. Safe from any thread; one write(2) per line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace faultmux::events {

using value = std::variant<std::int64_t, double, bool, std::string>;

struct field {
  std::string_view key;
  value val;
  field(std::string_view k, std::string v) : key(k), val(std::move(v)) {}
  field(std::string_view k, const char* v) : key(k), val(std::string(v)) {}
  field(std::string_view k, std::string_view v) : key(k), val(std::string(v)) {}
  field(std::string_view k, bool v) : key(k), val(v) {}
  field(std::string_view k, double v) : key(k), val(v) {}
  template <typename I>
  requires std::is_integral_v<I> field(std::string_view k, I v)
      : key(k), val(static_cast<std::int64_t>(v)) {}
};

// Opens (appends to) `path`; an empty path disables events. Throws
// std::system_error naming the path when it cannot be opened.
void open(const std::string& path, std::string role);
void close();
bool enabled();
// Seconds on CLOCK_MONOTONIC, comparable across processes of one machine.
double now();
void emit(std::string_view event, std::initializer_list<field> fields = {});

}  // namespace faultmux::events
