// Constants of the wire protocol (docs/protocol.md): frame layout, well-known
// handles and Mitogen's reason strings, which peers match on. Defined here
// once for the mux, the hostile peers and the roles.
#pragma once

#include <cstddef>
#include <cstdint>

namespace faultmux {

inline constexpr std::size_t header_size = 26;
inline constexpr std::uint16_t magic_pickled_legacy = 0x4d49;  // "MI": what 0.3.3 sends
inline constexpr std::uint16_t magic_pickled = 0x4d4a;
inline constexpr std::uint16_t magic_raw = 0x4d4b;

namespace handle {
inline constexpr std::uint32_t get_module = 100;
inline constexpr std::uint32_t call_function = 101;
inline constexpr std::uint32_t forward_log = 102;
inline constexpr std::uint32_t add_route = 103;
inline constexpr std::uint32_t del_route = 104;
inline constexpr std::uint32_t allocate_id = 105;
inline constexpr std::uint32_t shutdown = 106;
inline constexpr std::uint32_t load_module = 107;
inline constexpr std::uint32_t forward_module = 108;
inline constexpr std::uint32_t detaching = 109;
inline constexpr std::uint32_t call_service = 110;
inline constexpr std::uint32_t is_dead = 999;
inline constexpr std::uint32_t first_dynamic = 1000;
}  // namespace handle

// The echo handle every faultmux worker serves: replies with the body it got.
inline constexpr std::uint32_t worker_echo_handle = handle::first_dynamic;

namespace reason {
inline constexpr const char* refused = "refused by policy";
inline constexpr const char* invalid_handle = "invalid handle";
inline constexpr const char* unexpected_context = "reply from unexpected context";
inline constexpr const char* respondent_disconnected = "the respondent Context has disconnected";
inline constexpr const char* broker_exit = "Broker has exitted";  // sic: Mitogen's spelling
// Formats: too_large(max), no_route(dst, me), unidirectional(src, dst, me).
inline constexpr const char* too_large = "message too large (max {} bytes)";
inline constexpr const char* no_route = "no route to {}, my ID is {}";
inline constexpr const char* unidirectional =
    "routing mode prevents forward of message from context {} to context {} via context {}";
}  // namespace reason

}  // namespace faultmux
