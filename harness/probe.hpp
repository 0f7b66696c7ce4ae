// The probe: a second, raw protocol client the driver runs after the
// workers. Two clients handshake with the listener and a message goes from
// one to the other's echo handle and back through the mux: the listener
// accepts and the broker routes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "harness/deadline.hpp"
#include "mux/frame.hpp"

namespace faultmux {

struct probe_result {
  bool ok = false;
  std::string detail;     // what the probe did, or where it failed
  int connect_errno = 0;  // the errno of a connect that failed; 0 otherwise
};

// Probes the listener at `socket`, every wait within `budget`.
probe_result probe_listener(const std::string& socket, ms budget = ms(3000));

// Sends `m` over a non-blocking socket. "" when all of it went before
// `end`; else what stopped it: "timeout", or the send's errno name.
std::string send_message(int fd, const message& m, run_clock::time_point end);

// The first message for `handle` (anything else is skipped); nullopt with
// `why` ("no reply in time", "EOF", "recv: ECONNRESET", a frame error).
std::optional<message> read_message(int fd, std::uint32_t handle, run_clock::time_point end,
                                    std::string* why);

}  // namespace faultmux
