// One field of an event line: a key and a value of one of the JSON types an
// event carries. The mux's events and the fault layer's event_log take the
// same fields.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace faultmux::wire {

struct event_field {
  using value = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;
  std::string_view key;
  value val;
  event_field(std::string_view k, std::string v) : key(k), val(std::move(v)) {}
  event_field(std::string_view k, const char* v) : key(k), val(std::string(v)) {}
  event_field(std::string_view k, std::string_view v) : key(k), val(std::string(v)) {}
  event_field(std::string_view k, bool v) : key(k), val(v) {}
  event_field(std::string_view k, double v) : key(k), val(v) {}
  template <typename I>
  requires std::is_integral_v<I> event_field(std::string_view k, I v) : key(k) {
    if constexpr (std::is_signed_v<I>)
      val = static_cast<std::int64_t>(v);
    else
      val = static_cast<std::uint64_t>(v);
  }
};

}  // namespace faultmux::wire
