// The line a worker (or a hostile peer) prints on stdout once its handshake
// is done: "context_id=N parent_id=M". The driver, the smoke run, the tests
// and the benchmarks read it to learn the ids the mux assigned.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace faultmux::wire {

struct hello {
  std::uint32_t context_id = 0;
  std::uint32_t parent_id = 0;
};

// The line, without its newline.
inline std::string format_hello(hello h) {
  return "context_id=" + std::to_string(h.context_id) + " parent_id=" + std::to_string(h.parent_id);
}

// The ids of a hello line; nullopt when the line is something else.
inline std::optional<hello> parse_hello(std::string_view line) {
  std::string text(line);
  unsigned id = 0, parent = 0;
  if (std::sscanf(text.c_str(), "context_id=%u parent_id=%u", &id, &parent) != 2)
    return std::nullopt;
  return hello{id, parent};
}

}  // namespace faultmux::wire
