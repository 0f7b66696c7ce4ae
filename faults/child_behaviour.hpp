// Misbehaving contexts: what a context started by a mux does wrong on
// purpose, as children in the field did (a channel closed while the process
// runs on, SIGTERM ignored, a flood of log records, stderr without a newline,
// a start that dies with diagnostics on stderr). The text form is
// `NAME[:N][ pipe=BYTES]`, e.g. `linger:3000` or `stderr-without-newline:1048576
// pipe=4096`. Parsing is pure; the context role acts (roles/context_role.cpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace faultmux::faults {

enum class child_act : std::uint8_t {
  linger,                   // at its first call: closes its channel, lives on N ms
  linger_ignoring_sigterm,  // the same, SIGTERM ignored
  stderr_then_exit,         // before its hello: closes stdout, N bytes on stderr, exits 1
  stderr_without_newline,   // at its first call: N bytes on stderr, no newline
  log_flood,                // at its first call: N log records to its parent at full rate
  malformed_log,            // at its first call: one FORWARD_LOG body with no separators
};

struct child_behaviour {
  child_act act = child_act::linger;
  std::uint64_t n = 0;           // ms, bytes or records; 0 for malformed-log
  std::uint32_t pipe_bytes = 0;  // F_SETPIPE_SZ on its stdout and stderr first; 0: as is
  friend bool operator==(const child_behaviour&, const child_behaviour&) = default;
};

// "linger", ...
const char* act_name(child_act a);
// Every NAME, with what its N is: for error messages and help.
std::string acts_accepted();
// Whether the act happens before the context says hello (else at its first call).
bool before_hello(child_act a);

// The canonical text: "linger:3000", "log-flood:1000 pipe=4096".
std::string to_string(const child_behaviour& b);

// Parses the text form; an absent N takes the act's default. On failure
// returns nullopt and sets *error to what was wrong and what is accepted.
std::optional<child_behaviour> parse_child_behaviour(std::string_view text, std::string* error);

}  // namespace faultmux::faults
