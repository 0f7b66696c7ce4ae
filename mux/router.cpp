#include "mux/router.hpp"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "mux/events.hpp"
#include "mux/log.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

// A peer that never replies must not grow the table without bound.
constexpr std::size_t max_waiting_per_peer = 1 << 18;

std::optional<std::uint32_t> parse_id(const std::string& body) {
  std::uint32_t id = 0;
  const char* end = body.data() + body.size();
  auto [p, ec] = std::from_chars(body.data(), end, id);
  if (ec != std::errc{} || p == body.data() || (p != end && *p != ':')) return std::nullopt;
  return id;
}

// A reply (or a dead message answering for the respondent) passing back
// ends the request it answers.
void settle(waiting_requests& waiting, const message& m) {
  waiting.settle(m.dst_id, m.handle,
                 m.is_dead() ? std::nullopt : std::optional<std::uint32_t>(m.src_id));
}

std::string name_of(peer* p) {
  return p ? p->name() : std::string("none");
}

}  // namespace

router::router(router_config cfg) : cfg_(std::move(cfg)) {}

std::optional<std::uint32_t> router::parent_id() const {
  if (cfg_.parent_ids.empty()) return std::nullopt;
  return cfg_.parent_ids.front();
}

router::peer_state* router::state_of(peer* p) {
  auto it = peers_.find(p);
  return it == peers_.end() ? nullptr : it->second.get();
}

const router::peer_state* router::state_of(peer* p) const {
  auto it = peers_.find(p);
  return it == peers_.end() ? nullptr : it->second.get();
}

peer* router::explicit_route(std::uint32_t id) const {
  auto it = routes_.find(id);
  return it == routes_.end() ? nullptr : it->second;
}

peer* router::parent_stream() const {
  auto pid = parent_id();
  return pid ? explicit_route(*pid) : nullptr;
}

peer* router::route_to(std::uint32_t id) const {
  if (peer* p = explicit_route(id)) return p;
  if (auto pid = parent_id()) return explicit_route(*pid);
  return nullptr;
}

bool router::is_privileged(peer* p) const {
  const peer_state* st = state_of(p);
  if (!st) return false;
  auto is_ancestor = [&](std::uint32_t id) {
    return std::find(cfg_.parent_ids.begin(), cfg_.parent_ids.end(), id) != cfg_.parent_ids.end();
  };
  if (is_ancestor(st->remote_id)) return true;
  return st->stamp && (*st->stamp == cfg_.context_id || is_ancestor(*st->stamp));
}

std::size_t router::pending_requests(peer* p) const {
  const peer_state* st = state_of(p);
  return st ? st->waiting.size() : 0;
}

void router::add_peer(peer* p, std::uint32_t remote_id, std::optional<std::uint32_t> stamp) {
  auto& slot = peers_[p];
  if (!slot) slot = std::make_unique<peer_state>();
  peer_state& st = *slot;
  st.remote_id = remote_id;
  st.stamp = stamp;
  add_route(remote_id, p, p->name());
}

void router::add_route(std::uint32_t id, peer* via, const std::string& name) {
  routes_[id] = via;
  if (peer_state* st = state_of(via)) st->routes.insert(id);
  spdlog::debug("router: route to {} via {} added", id, via->name());
  if (on_route_change) on_route_change(id, via, true);
  // Upward with the context's own name, as Mitogen's RouteMonitor relays it.
  if (via != parent_stream())
    send_up(handle::add_route, name.empty() ? std::to_string(id) : fmt::format("{}:{}", id, name));
}

void router::send_up(std::uint32_t h, const std::string& body) {
  auto pid = parent_id();
  if (!pid || !explicit_route(*pid)) return;
  message m;
  m.dst_id = *pid;
  m.handle = h;
  m.data = body;
  route(std::move(m));
}

void router::del_route(std::uint32_t id, peer* via) {
  auto it = routes_.find(id);
  if (it == routes_.end() || it->second != via) return;
  routes_.erase(it);
  if (peer_state* st = state_of(via)) st->routes.erase(id);
  spdlog::debug("router: route to {} via {} removed", id, via->name());
  if (on_route_change) on_route_change(id, via, false);
  if (!parent_id() || id != *parent_id()) send_up(handle::del_route, std::to_string(id));
  propagate_down(id, via);
  respondent_gone(id);
}

void router::propagate_down(std::uint32_t id, peer* exclude) {
  // Never to the parent: it hears of the loss through send_up (Mitogen's
  // _propagate_down skips it too), and twice would be a bogus DEL_ROUTE.
  peer* parent = parent_stream();
  for (auto& [q, state] : peers_) {
    peer_state& qs = *state;
    if (qs.last_egress == id) qs.last_egress.reset();
    if (q == exclude || q == parent || qs.retired || qs.egress_ids.erase(id) == 0) continue;
    message m;
    m.dst_id = qs.remote_id;
    m.src_id = m.auth_id = cfg_.context_id;
    m.handle = handle::del_route;
    m.data = std::to_string(id);
    q->send(std::move(m));
  }
}

void router::end_waiting(peer_state& st, std::optional<std::uint32_t> respondent) {
  for (const request_key& k : st.waiting.take(respondent)) {
    events::emit(wire::ev::dead, {{"reason", reason::respondent_disconnected},
                                  {"dst", k.requester},
                                  {"handle", k.reply_handle},
                                  {"respondent", k.respondent}});
    route(message::dead(reason::respondent_disconnected, k.requester, k.reply_handle));
  }
}

void router::retire(peer* p) {
  if (peer_state* st = state_of(p)) st->retired = true;
}

void router::on_disconnect(peer* p) {
  auto it = peers_.find(p);
  if (it == peers_.end()) return;
  peer_state st = std::move(*it->second);
  peers_.erase(it);
  // Routes first, so the dead replies below never travel toward p.
  for (std::uint32_t id : st.routes) del_route(id, p);
  // legacy no-dead-reply-on-disconnect: Mitogen 0.3.3's router answers no
  // request its dying respondent held; a requester that does not wake
  // itself on DEL_ROUTE (a unix client's plain Receiver) waits to its timeout.
  if (cfg_.legacy.no_dead_reply_on_disconnect) return;
  end_waiting(st, std::nullopt);
}

void router::respondent_gone(std::uint32_t id) {
  std::vector<std::shared_ptr<handler_fn>> fns;
  for (auto it = handlers_.begin(); it != handlers_.end();) {
    if (it->second.opts.respondent == id) {
      fns.push_back(it->second.fn);
      it = handlers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& fn : fns) {
    message d = message::dead(reason::respondent_disconnected, cfg_.context_id);
    d.src_id = d.auth_id = cfg_.context_id;
    (*fn)(d);
  }
}

std::uint32_t router::add_handler(handler_fn fn, handler_options opts) {
  std::uint32_t h = opts.handle.value_or(0);
  if (!opts.handle) {
    while (handlers_.count(next_handle_)) ++next_handle_;
    h = next_handle_++;
  }
  handlers_[h] = handler_entry{std::make_shared<handler_fn>(std::move(fn)), std::move(opts)};
  return h;
}

bool router::del_handler(std::uint32_t h) {
  return handlers_.erase(h) > 0;
}

void router::shutdown_handlers() {
  auto all = std::move(handlers_);
  handlers_.clear();
  for (auto& [h, entry] : all) {
    message d = message::dead(reason::broker_exit, cfg_.context_id, h);
    d.src_id = d.auth_id = cfg_.context_id;
    try {
      (*entry.fn)(d);
    } catch (const std::exception& e) {
      spdlog::error("router: handler {} failed on shutdown: {}", h, e.what());
    }
  }
}

void router::route(message m) {
  m.src_id = cfg_.context_id;
  m.auth_id = cfg_.context_id;
  dispatch(m, nullptr);
}

void router::on_receive(peer* p, message m) {
  dispatch(m, p);
}

void router::maybe_send_dead(bool unreachable, const message& m, const std::string& why) {
  if (m.reply_to && !m.is_dead()) {
    events::emit(wire::ev::dead, {{"reason", why}, {"dst", m.src_id}, {"handle", m.reply_to}});
    route(message::dead(why, m.src_id, m.reply_to));
  } else if (!unreachable) {
    events::emit(wire::ev::dead, {{"reason", why}, {"dst", m.dst_id}, {"handle", m.handle}});
    route(message::dead(why, m.dst_id, m.handle));
  }
}

void router::dispatch(message& m, peer* in) {
  if (m.data.size() > cfg_.max_message_size) {
    spdlog::warn(
        "router: message from {} to {} handle {} is {} bytes, over the limit of {}: dropped",
        m.src_id, m.dst_id, m.handle, m.data.size(), cfg_.max_message_size);
    // An oversized reply still answers its request: the dead message below
    // replaces it, so the respondent's later disconnect must not add another.
    if (peer_state* st = in ? state_of(in) : nullptr;
        st && !st->waiting.empty() && route_to(m.src_id) == in)
      settle(st->waiting, m);
    // legacy no-dead-message: Mitogen dropped an oversize body with only a
    // log line, so whoever waited for the reply waited forever (#405, #615).
    if (cfg_.legacy.no_dead_message) return;
    // A dead message made here that is itself over the limit (a limit below
    // the length of a reason) would answer itself forever: drop it instead.
    maybe_send_dead(!in && m.is_dead(), m, fmt::format(reason::too_large, cfg_.max_message_size));
    return;
  }
  peer* src_stream = route_to(m.src_id);

  if (in) {
    peer_state* st = state_of(in);
    if (!st) {
      spdlog::error("router: message from unregistered stream {} dropped", in->name());
      return;
    }
    peer* auth_stream = m.auth_id == m.src_id ? src_stream : route_to(m.auth_id);
    if (in != auth_stream) {
      spdlog::error("router: bad auth_id: got {} via {}, not {}: dst={} handle={}", m.auth_id,
                    in->name(), name_of(auth_stream), m.dst_id, m.handle);
      events::emit(wire::ev::bad_auth_id, {{"stream", in->name()}, {"auth_id", m.auth_id}});
      return;
    }
    if (m.src_id != m.auth_id && in != src_stream) {
      spdlog::error("router: bad src_id: got {} via {}, not {}: dst={} handle={}", m.src_id,
                    in->name(), name_of(src_stream), m.dst_id, m.handle);
      events::emit(wire::ev::bad_src_id, {{"stream", in->name()}, {"src_id", m.src_id}});
      return;
    }
    if (!st->waiting.empty()) settle(st->waiting, m);
    if (st->stamp) m.auth_id = *st->stamp;
    if (st->last_egress != m.dst_id) {
      st->egress_ids.insert(m.dst_id);
      st->last_egress = m.dst_id;
    }
  }

  if (m.dst_id == cfg_.context_id) {
    invoke(m, in);
    return;
  }

  peer* out = explicit_route(m.dst_id);
  // No route down: go up, unless the message came from above for a child
  // that is gone (returning it would fail verification there).
  if (!out) {
    peer* parent = parent_stream();
    if (parent != src_stream || !in) out = parent;
  }
  if (!out) {
    spdlog::debug("router: no route to {} for message from {} handle {}", m.dst_id, m.src_id,
                  m.handle);
    maybe_send_dead(true, m, fmt::format(reason::no_route, m.dst_id, cfg_.context_id));
    return;
  }
  if (in && cfg_.unidirectional && !is_privileged(in) && !is_privileged(out)) {
    std::uint32_t from = state_of(in)->remote_id, to = state_of(out)->remote_id;
    spdlog::warn("router: unidirectional mode refused a message from {} to {} ({} -> {})", from, to,
                 in->name(), out->name());
    maybe_send_dead(true, m, fmt::format(reason::unidirectional, from, to, cfg_.context_id));
    return;
  }
  forward(m, out);
}

void router::forward(message& m, peer* out) {
  peer_state* os = state_of(out);
  // A context told to shut down reads nothing after its SHUTDOWN: a request
  // queued behind it would only meet its exit (EPIPE), so it is answered now.
  if (os && os->retired && m.handle != handle::shutdown) {
    spdlog::debug("router: message from {} to {} not sent: {} was told to shut down", m.src_id,
                  m.dst_id, out->name());
    maybe_send_dead(true, m, reason::respondent_disconnected);
    return;
  }
  if (m.reply_to && !m.is_dead() && os && os->waiting.size() < max_waiting_per_peer)
    os->waiting.add({m.src_id, m.reply_to, m.dst_id});
  out->send(std::move(m));
}

void router::invoke(message& m, peer* in) {
  if (m.handle == handle::add_route) return on_add_route(m, in);
  if (m.handle == handle::del_route) return on_del_route(m, in);

  auto it = handlers_.find(m.handle);
  if (it == handlers_.end()) {
    spdlog::debug("router: message from {} to unknown handle {}", m.src_id, m.handle);
    maybe_send_dead(true, m, reason::invalid_handle);
    return;
  }
  const handler_options& opts = it->second.opts;
  if (opts.respondent && !(m.is_dead() || m.src_id == *opts.respondent)) {
    spdlog::warn("router: handle {} expects replies from {}, got one from {}", m.handle,
                 *opts.respondent, m.src_id);
    maybe_send_dead(true, m, reason::unexpected_context);
    return;
  }
  if (opts.policy && !opts.policy(m, in)) {
    spdlog::warn("router: policy of handle {} refused a message from {} via {}", m.handle, m.src_id,
                 name_of(in));
    maybe_send_dead(true, m, reason::refused);
    return;
  }
  std::shared_ptr<handler_fn> fn = it->second.fn;
  if (!opts.persist) handlers_.erase(it);
  try {
    (*fn)(m);
  } catch (const std::exception& e) {
    spdlog::error("router: handler for handle {} failed on a message from {}: {}", m.handle,
                  m.src_id, e.what());
  }
}

void router::on_add_route(message& m, peer* in) {
  const peer_state* st = state_of(in);
  auto id = parse_id(m.data);
  if (!st || m.src_id != st->remote_id || (parent_id() && st->remote_id == *parent_id())) {
    spdlog::error("router: ADD_ROUTE {:?} from {} via {} ignored: not from an immediate child",
                  m.data.substr(0, 64), m.src_id, name_of(in));
    return;
  }
  if (!id || *id == cfg_.context_id ||
      std::find(cfg_.parent_ids.begin(), cfg_.parent_ids.end(), *id) != cfg_.parent_ids.end()) {
    spdlog::error("router: ADD_ROUTE {:?} from {} ignored: bad or reserved context id",
                  m.data.substr(0, 64), in->name());
    return;
  }
  if (peer* via = explicit_route(*id)) {
    if (via == in && *id == st->remote_id) return;  // a child announcing itself
    // An error, as Mitogen's RouteMonitor logs it: a peer claiming a route
    // that is another's is broken or hostile.
    spdlog::error("router: ADD_ROUTE for {} from {} ignored: route already via {}", *id, in->name(),
                  via->name());
    return;
  }
  auto colon = m.data.find(':');
  add_route(*id, in, colon == std::string::npos ? std::string() : m.data.substr(colon + 1));
}

void router::on_del_route(message& m, peer* in) {
  auto id = parse_id(m.data);
  peer_state* st = state_of(in);
  if (!id || !st) {
    spdlog::error("router: DEL_ROUTE {:?} via {} ignored: bad body or unknown stream",
                  m.data.substr(0, 64), name_of(in));
    return;
  }
  if (parent_id() && st->remote_id == *parent_id()) {
    // Only the parent itself (Mitogen's is_immediate_child policy), and only
    // for a context reached through it: never for one of our own children.
    if (m.src_id != st->remote_id || (explicit_route(*id) && explicit_route(*id) != in)) {
      spdlog::error("router: DEL_ROUTE for {} from {} via {} ignored: the route goes via {}", *id,
                    m.src_id, in->name(), name_of(route_to(*id)));
      return;
    }
    // The parent says a context beyond it is gone: end what waits on it and
    // tell the children that talked to it.
    end_waiting(*st, *id);
    propagate_down(*id, in);
    respondent_gone(*id);
    return;
  }
  if (m.src_id != st->remote_id || explicit_route(*id) != in) {
    spdlog::error("router: DEL_ROUTE for {} from {} via {} ignored: the route goes via {}", *id,
                  m.src_id, in->name(), name_of(explicit_route(*id)));
    return;
  }
  del_route(*id, in);
  end_waiting(*st, *id);
}

}  // namespace faultmux
