// Hostile peers: client behaviours a worker takes instead of behaving
// (`faultmux worker --connect PATH --behave NAME ...`). Each connects with a
// raw socket and its own frame writer, does one wrong thing on purpose,
// records what it did and what it saw as JSON lines, and exits with a
// documented status (faults/README.md, "Hostile peers").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wire/limits.hpp"

namespace faultmux::faults {

enum class behaviour : std::uint8_t {
  stall,              // connect, send nothing, hold
  short_pid,          // send 0-3 pid bytes, close
  exit_after_pid,     // send the pid, exit before reading the reply
  never_read_reply,   // send the pid, never read, hold
  garbage,            // good handshake, then seeded random bytes
  bad_magic,          // a frame with a wrong magic
  oversize_plus_1,    // a header with data_len = max + 1
  oversize_ffffffff,  // a header with data_len = 0xFFFFFFFF
  single_bytes,       // a valid echo request, one byte per send; check the reply
  many_frames,        // N valid requests in one write; check all replies in order
  spoof_auth,         // auth_id of another context
  spoof_src,          // src_id of another context
  forbidden_route,    // a message the mux must refuse; check the dead reply
  oversize_body,      // a body over the limit; expect the dead reply or the disconnect
  slow_reader,        // lots of echo traffic, never drains its socket
  unknown_handle,     // requests to a handle nobody serves; check each dead `invalid handle`
  route_abuse,        // duplicate ADD_ROUTE, DEL_ROUTE of another's route, ADD_ROUTE from a
                      // non-child; then check the routes still lead where they did
  half_close_header,  // half a header, then shutdown(SHUT_WR) with the socket kept open
  half_close_body,    // a header and half its body, then shutdown(SHUT_WR), kept open
  shut_rd,            // shutdown(SHUT_RD), then keep sending requests whose replies meet EPIPE
  shut_rd_close,      // shutdown(SHUT_RD), a burst of requests and close: EPIPE and EOF at once
};

const char* behaviour_name(behaviour b);
std::optional<behaviour> parse_behaviour(std::string_view name);
// "stall, short-pid, ...": for help and error messages.
std::string behaviour_names();

// Exit statuses of a hostile worker.
namespace hostile_status {
inline constexpr int ok = 0;          // done; what it saw is what docs/protocol.md allows
inline constexpr int unexpected = 1;  // done, but the mux's visible reaction was wrong
inline constexpr int bad_input = 2;
inline constexpr int cannot_connect = 3;  // connect or handshake failed
}  // namespace hostile_status

struct hostile_options {
  std::string connect;  // the mux's socket path
  behaviour what = behaviour::stall;
  std::optional<std::uint32_t> target;    // context to message (an echo worker)
  std::optional<std::uint32_t> spoof_id;  // spoof-auth/-src: the id claimed (default: target)
  int hold_ms = 5000;                     // how long to hold, or to wait for the mux's reaction
  std::uint64_t max_message_size = limits::max_message_size;
  int pid_bytes = 2;       // short-pid
  int count = 0;           // many-frames (default 100), slow-reader (default 2000)
  std::size_t size = 0;    // garbage bytes / body bytes (default 64; slow-reader 65536)
  std::uint64_t seed = 0;  // garbage and bodies
  int connect_timeout_ms = limits::connect_timeout_ms;
  std::string events;  // JSON-lines file ("" = none)
};

// What is wrong with the options for this behaviour ("" when nothing).
std::string check_options(const hostile_options& o);

// Runs the behaviour; returns the exit status (hostile_status).
int run_hostile(const hostile_options& o);

}  // namespace faultmux::faults
