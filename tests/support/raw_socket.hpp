// Raw AF_UNIX clients of a listener that can misbehave in ways connect_unix
// never would: half a pid, no pid, a hang-up mid-identity.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "mux/fd.hpp"

namespace faultmux::test {

// The listener's 12-byte reply.
struct identity {
  std::uint32_t context_id = 0;
  std::uint32_t parent_id = 0;
  std::uint32_t parent_pid = 0;
};

std::array<std::uint8_t, 4> be32(std::uint32_t v);

// connect() on a new AF_UNIX stream socket. On failure the fd is empty and
// *err (when given) holds the errno.
unique_fd raw_connect(const std::string& path, bool nonblocking = false, int* err = nullptr);
// Sends every byte (waiting with poll on a non-blocking socket); false on error.
bool send_all(int fd, const void* data, std::size_t len);
bool send_pid(int fd, std::uint32_t pid);
// Reads the 12 identity bytes; nullopt on EOF, error or timeout.
std::optional<identity> read_identity(int fd, std::chrono::milliseconds timeout);
// True when the peer closes (EOF or ECONNRESET) within the timeout; any data
// that arrives first is read and discarded.
bool wait_peer_closed(int fd, std::chrono::milliseconds timeout);
// True when nothing (no data, no hangup) is readable within the timeout.
bool stays_quiet(int fd, std::chrono::milliseconds timeout);
// A whole, well-behaved handshake with our own pid; nullopt on any failure.
std::optional<identity> probe_handshake(const std::string& path,
                                        std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                        unique_fd* keep = nullptr);

}  // namespace faultmux::test
