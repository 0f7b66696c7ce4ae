// The router of one context: routing table with parent fallback, handler
// table, source verification, auth_id stamping, unidirectional mode, dead
// messages, ADD_ROUTE/DEL_ROUTE and what a disconnect ends. Pure logic: it
// sends through the `peer` interface and is driven from the broker thread.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "mux/legacy.hpp"
#include "mux/message.hpp"
#include "mux/waiting_requests.hpp"

namespace faultmux {

// A connection the router can send on (a stream to a parent, child or client).
class peer {
 public:
  virtual ~peer() = default;
  virtual const std::string& name() const = 0;
  // Queues m for output; never blocks, never throws for I/O.
  virtual void send(message m) = 0;
};

struct router_config {
  std::uint32_t context_id = 0;
  std::vector<std::uint32_t> parent_ids;  // nearest first; empty in the root
  std::uint64_t max_message_size = limits::max_message_size;
  bool unidirectional = false;
  legacy_bugs legacy;  // historical failures re-enabled on purpose (mux/legacy.hpp)
};

using handler_fn = std::function<void(message&)>;
// Returns true to accept a message; `from` is null for local messages.
using policy_fn = std::function<bool(const message&, peer* from)>;

struct handler_options {
  std::optional<std::uint32_t> handle;  // allocated from 1000 when empty
  bool persist = true;                  // false: removed after one message
  policy_fn policy;
  // Only messages from this context (or dead ones) are accepted, and the
  // handler gets a dead message when the context disconnects.
  std::optional<std::uint32_t> respondent;
};

class router {
 public:
  explicit router(router_config cfg);

  std::uint32_t context_id() const { return cfg_.context_id; }
  std::optional<std::uint32_t> parent_id() const;
  const router_config& config() const { return cfg_; }

  // Registers a stream whose far end is `remote_id`. With `stamp_auth_id`,
  // every message received on it is stamped with that auth_id after
  // verification (how a unix client gets its listener's authority).
  void add_peer(peer* p, std::uint32_t remote_id, std::optional<std::uint32_t> stamp_auth_id = {});
  // The stream is gone: routes through it are removed and announced with
  // DEL_ROUTE, respondent handlers and waiting requesters get dead messages.
  void on_disconnect(peer* p);
  // p's far end has been told to shut down: it gets no more DEL_ROUTE
  // fan-out, which it would not act on and which could meet it exiting
  // (EPIPE, or ECONNRESET for an unread one).
  void retire(peer* p);
  // A message received on p.
  void on_receive(peer* p, message m);
  // A message from this context: src_id and auth_id are set to ours.
  void route(message m);

  std::uint32_t add_handler(handler_fn fn, handler_options opts = {});
  bool del_handler(std::uint32_t h);
  // Every handler gets a dead message (`Broker has exitted`) and is removed.
  void shutdown_handlers();

  // Explicit route for id, else the parent's stream, else null.
  peer* route_to(std::uint32_t id) const;
  peer* explicit_route(std::uint32_t id) const;
  std::size_t route_count() const { return routes_.size(); }
  std::size_t handler_count() const { return handlers_.size(); }
  bool is_privileged(peer* p) const;
  // Requests forwarded toward p that still wait for their reply.
  std::size_t pending_requests(peer* p) const;

  // Called for every ADD_ROUTE/DEL_ROUTE the router applies (for the owner's
  // bookkeeping, e.g. events). May be empty.
  std::function<void(std::uint32_t id, peer* via, bool added)> on_route_change;

 private:
  struct peer_state {
    std::uint32_t remote_id = 0;
    std::optional<std::uint32_t> stamp;
    std::set<std::uint32_t> routes;      // ids reached through this peer
    std::set<std::uint32_t> egress_ids;  // ids this peer ever sent to
    // The id of its last message, known to be in egress_ids: a stream's next
    // message to the same id does not search the set.
    std::optional<std::uint32_t> last_egress;
    waiting_requests waiting;  // requests forwarded to this peer
    bool retired = false;      // see retire()
  };
  struct handler_entry {
    std::shared_ptr<handler_fn> fn;  // shared: a handler may remove itself while running
    handler_options opts;
  };

  peer_state* state_of(peer* p);
  const peer_state* state_of(peer* p) const;
  void dispatch(message& m, peer* in);
  // Sends m on out, a route found for it, and notes the request it waits on.
  void forward(message& m, peer* out);
  void invoke(message& m, peer* in);
  void maybe_send_dead(bool unreachable, const message& m, const std::string& reason);
  peer* parent_stream() const;
  void add_route(std::uint32_t id, peer* via, const std::string& name);
  void del_route(std::uint32_t id, peer* via);
  void propagate_down(std::uint32_t id, peer* exclude);
  void end_waiting(peer_state& st, std::optional<std::uint32_t> respondent);
  void on_add_route(message& m, peer* in);
  void on_del_route(message& m, peer* in);
  void send_up(std::uint32_t h, const std::string& body);
  void respondent_gone(std::uint32_t id);

  router_config cfg_;
  // Flat tables: each message looks up its source, destination and streams.
  // A peer's state is boxed so that pointers to it survive a rehash.
  boost::unordered_flat_map<std::uint32_t, peer*> routes_;
  boost::unordered_flat_map<peer*, std::unique_ptr<peer_state>> peers_;
  std::map<std::uint32_t, handler_entry> handlers_;
  std::uint32_t next_handle_ = handle::first_dynamic;
};

}  // namespace faultmux
