// A framed connection on a non-blocking socket: reads frames into messages,
// writes queued messages, and turns every I/O failure into one logged,
// graceful disconnect of this stream alone.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "mux/fd.hpp"
#include "mux/router.hpp"
#include "wire/limits.hpp"

namespace faultmux {

class broker;

struct stream_options {
  std::uint64_t max_message_size = limits::max_message_size;
  // Output cap policy: a message is always queued when the queue is empty;
  // otherwise a queue that would exceed the cap means the reader is not
  // keeping up, and the stream is disconnected with an error naming it.
  std::size_t output_cap = limits::output_cap;
  // legacy error-disconnect-at-debug (mux/legacy.hpp): a failed recv or send
  // disconnects the stream with only a debug line.
  bool error_disconnect_at_debug = false;
};

class stream : public peer {
 public:
  using message_fn = std::function<void(stream&, message)>;
  // err is 0 for a clean EOF or a requested close, else the errno.
  using close_fn = std::function<void(stream&, int err)>;

  // Takes ownership of a connected socket (made non-blocking here).
  static std::shared_ptr<stream> create(broker& b, unique_fd fd, std::string name,
                                        stream_options opts = {});

  // Starts reading. Callbacks run on the broker thread; an exception from
  // on_message disconnects this stream only.
  virtual void start(message_fn on_message, close_fn on_close) = 0;
  // Closes now, dropping queued output; on_close runs once.
  virtual void close(int err, const std::string& why) = 0;
  // Flushes queued output for at most `grace`, closes; done(closed clean, nothing dropped).
  virtual void close_gracefully(std::chrono::milliseconds grace,
                                std::function<void(bool)> done) = 0;

  virtual std::size_t queued_bytes() const = 0;
  virtual bool closed() const = 0;
  virtual int native_handle() const = 0;
};

}  // namespace faultmux
