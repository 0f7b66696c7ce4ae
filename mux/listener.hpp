// The unix listener: a private, atomically published socket, an accept loop
// that survives every accept() error, and a non-blocking handshake per client
// with a deadline, so a stalled or vanishing client costs only itself.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>

#include "mux/fd.hpp"
#include "mux/legacy.hpp"
#include "wire/limits.hpp"

namespace faultmux {

class broker;

struct listener_options {
  std::string path;  // empty: a socket in a new private directory under $TMPDIR or /tmp
  int backlog = 100;
  std::chrono::milliseconds handshake_timeout{limits::handshake_timeout_ms};
  std::uint32_t context_id = 0;  // the listener's own context id, sent to clients
  legacy_bugs legacy;            // historical failures re-enabled on purpose (mux/legacy.hpp)
};

// A client that completed the handshake.
struct accepted_client {
  unique_fd fd;
  std::uint32_t pid = 0;  // as the client sent it
  std::uint32_t context_id = 0;
};

// Raised when the socket cannot be published: names the path and the errno.
class listen_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class listener {
 public:
  using allocate_fn = std::function<std::uint32_t()>;
  using client_fn = std::function<void(accepted_client)>;

  // Binds and listens; throws listen_error. Callbacks run on the broker thread.
  static std::unique_ptr<listener> create(broker& b, listener_options opts, allocate_fn allocate,
                                          client_fn on_client);
  virtual ~listener() = default;

  virtual const std::string& path() const = 0;
  // Stops accepting, aborts handshakes in progress, removes the socket file
  // (only if it is still ours) and the private directory if we made one.
  virtual void close() = 0;
  virtual std::size_t handshakes_in_progress() const = 0;
};

}  // namespace faultmux
