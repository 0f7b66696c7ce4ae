// Client side of the unix handshake: connect, send our pid, read our
// identity. Every failure is one connect_error with the errno and the path.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>

#include "mux/fd.hpp"

namespace faultmux {

// Mitogen's ConnectError: carries the errno and the socket path.
class connect_error : public std::runtime_error {
 public:
  connect_error(std::string path, int err, const std::string& detail);
  int error() const { return err_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int err_;
};

struct connection {
  unique_fd fd;                  // connected, non-blocking
  std::uint32_t context_id = 0;  // ours, assigned by the listener
  std::uint32_t parent_id = 0;   // the listener's context id
  std::uint32_t parent_pid = 0;
};

// The points of the client handshake, in order, for an observer.
enum class connect_phase {
  connected,          // connect() succeeded; nothing sent yet
  pid_sent,           // our 4 pid bytes are written; the identity not yet read
  identity_received,  // the 12 identity bytes are read
};

// Connects to the listener at `path`. A full backlog (EAGAIN on Linux) is
// retried with backoff for `backlog_wait` (default: until `deadline`); a
// short read of the reply is waited for until `deadline`. on_phase, when
// given, is called as each phase is reached (on this thread, before the next
// step), so a caller can act at an exact point.
connection connect_unix(const std::string& path,
                        std::chrono::milliseconds deadline = std::chrono::seconds(10),
                        const std::function<void(connect_phase)>& on_phase = {},
                        std::optional<std::chrono::milliseconds> backlog_wait = std::nullopt);

}  // namespace faultmux
