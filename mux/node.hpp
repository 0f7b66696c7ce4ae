// One context's runtime: its broker, router, streams and (optionally) a
// listener, wired together, with a graceful shutdown.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "mux/broker.hpp"
#include "mux/listener.hpp"
#include "mux/router.hpp"
#include "mux/stream.hpp"
#include "wire/limits.hpp"

namespace faultmux {

// Per-stream hooks for the owner of a stream (e.g. the children registry).
struct attach_options {
  std::optional<std::uint32_t> stamp_auth_id;  // see router::add_peer
  std::function<void()> on_first_message;      // e.g. a child's hello
  std::function<void(int err)> on_closed;      // after its routes are gone
};

struct node_config {
  router_config routing;
  stream_options streams;
  std::chrono::milliseconds shutdown_grace{limits::shutdown_grace_ms};
};

class node {
 public:
  explicit node(const node_config& cfg);
  ~node();
  node(const node&) = delete;
  node& operator=(const node&) = delete;

  broker& get_broker() { return broker_; }
  router& get_router() { return router_; }

  // The rest runs on the broker thread (or before its loop starts).

  // Registers a connected socket as a stream to `remote_id`.
  std::shared_ptr<stream> attach(unique_fd fd, std::string name, std::uint32_t remote_id,
                                 attach_options opts = {});
  // Publishes a unix listener whose clients get fresh context ids and the
  // listener's authority. Throws listen_error.
  void listen(listener_options opts);
  listener* get_listener() { return listener_.get(); }
  std::uint32_t allocate_id() { return next_id_++; }
  // The first of `count` consecutive fresh ids.
  std::uint32_t allocate_ids(std::uint32_t count) {
    std::uint32_t first = next_id_;
    next_id_ += count;
    return first;
  }
  std::size_t stream_count() const { return streams_.size(); }
  // Bytes its streams hold that the kernel has not taken yet.
  std::size_t queued_bytes() const;

  // Closes the listener, flushes every stream within the grace period (then
  // force-closes the rest, naming each), gives every handler a dead message,
  // then calls done.
  void shutdown(std::function<void()> done);
  // Cuts the grace period short (a second signal): streams still flushing
  // are force-closed now, each named, and a shutdown not yet begun will not
  // wait to flush. The shutdown then ends as usual, calling its done.
  void hurry_shutdown();
  // Closes the listener and every stream now, without a flush, and ends
  // every handler (a dead message each). For an owner about to destroy
  // objects that the node's callbacks reach: after this nothing calls them.
  void close_all(const std::string& why);
  // Runs fn on the broker thread when one of the signals arrives.
  void on_signals(std::initializer_list<int> sigs, std::function<void(int)> fn);

  // Called after a stream is closed and its routes are gone.
  std::function<void(stream&, int err)> on_stream_closed;

 private:
  node_config cfg_;
  broker broker_;
  router router_;
  std::unique_ptr<listener> listener_;
  void close_streams(const std::string& why);

  std::map<stream*, std::shared_ptr<stream>> streams_;
  std::uint32_t next_id_;
  std::shared_ptr<void> signals_;
  bool shutting_down_ = false;
};

}  // namespace faultmux
