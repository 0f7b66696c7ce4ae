// Default limits of a mux, shared by the mux, the roles that start one, the
// scenario model and the hostile peers that probe them. Each is the value a
// scenario gets when it names none.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faultmux::limits {

// The largest message body accepted (Mitogen's max_message_size).
inline constexpr std::uint64_t max_message_size = 128ull * 1024 * 1024;
// Bytes a stream may queue for a peer that does not read before it is cut off.
inline constexpr std::size_t output_cap = 64ull * 1024 * 1024;
// How long a client may take over its handshake.
inline constexpr int handshake_timeout_ms = 10000;
// How long a stopping mux flushes its streams before it closes them.
inline constexpr int shutdown_grace_ms = 5000;
// How long a client keeps trying to connect.
inline constexpr int connect_timeout_ms = 10000;

}  // namespace faultmux::limits
