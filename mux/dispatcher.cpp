#include "mux/dispatcher.hpp"

#include <algorithm>

#include "mux/events.hpp"
#include "mux/log.hpp"
#include "mux/node.hpp"
#include "mux/pickle.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

namespace {

// Requests up to this size may run on the broker thread (quick functions only).
constexpr std::size_t quick_request_limit = std::size_t{64} * 1024;

thread_local std::optional<call_origin> serving;

// Sets `serving` for the duration of one call.
struct serving_scope {
  explicit serving_scope(const message& m) { serving = call_origin{m.src_id, m.auth_id}; }
  ~serving_scope() { serving.reset(); }
};

}  // namespace

std::optional<call_origin> current_call_origin() {
  return serving;
}

bool has_parent_authority(const message& m, std::uint32_t self,
                          const std::vector<std::uint32_t>& parents) {
  return m.auth_id == self || std::find(parents.begin(), parents.end(), m.auth_id) != parents.end();
}

dispatcher::dispatcher(node& n, const function_table& fns) : node_(n), fns_(fns) {}

dispatcher::~dispatcher() {
  stop();
  if (thread_.joinable()) thread_.join();
}

void dispatcher::start() {
  router& r = node_.get_router();
  const router_config& cfg = r.config();
  r.add_handler(
      [this](message& m) {
        if (m.is_dead()) return;  // the router's shutdown notice, not a request
        std::unique_lock lock(mu_);
        if (stopping_) return;
        job j{std::move(m), std::nullopt};
        if (unanswered_ == 0 && queue_.empty() && j.m.data.size() <= quick_request_limit) {
          // Nothing runs or waits, so running it here keeps the order; the
          // size bound keeps the broker's pause short.
          j.decoded = pickle::decode(j.m.data);
          if (is_quick(*j.decoded)) {
            lock.unlock();
            if (auto reply = serve(j)) node_.get_router().route(std::move(*reply));
            return;
          }
        }
        queue_.push_back(std::move(j));
        cv_.notify_one();
      },
      {.handle = handle::call_function,
       .persist = true,
       .policy = [self = cfg.context_id, parents = cfg.parent_ids](
                     const message& m, peer*) { return has_parent_authority(m, self, parents); },
       .respondent = {}});
  thread_ = std::thread([this] { run(); });
}

void dispatcher::stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  queue_.clear();
  cv_.notify_all();
}

dispatcher::request dispatcher::parts_of(const pickle::value& req) {
  request r;
  const auto* t = req.get<pickle::tuple>();
  if (!t || t->items.size() != 6) return r;
  r.six_tuple = true;
  r.module = t->items[1].get<pickle::text>();
  r.function = t->items[3].get<pickle::text>();
  r.args = t->items[4].get<pickle::tuple>();
  r.kwargs = t->items[5].get<pickle::kwargs>();
  if (!r.kwargs) r.kwargs_dict = t->items[5].get<pickle::dict>();
  return r;
}

std::string dispatcher::name_of(const request& r) {
  return r.module && r.function ? r.module->utf8 + "." + r.function->utf8 : std::string("?");
}

bool dispatcher::is_quick(const pickle::result<pickle::value>& req) const {
  if (!req) return false;
  const request r = parts_of(*req);
  const auto* e = r.module && r.function ? fns_.find(r.module->utf8, r.function->utf8) : nullptr;
  return e && e->quick;
}

void dispatcher::run() {
  // A call counts until its reply is routed, so that a call run on the
  // broker thread never answers before the one before it.
  auto finished = [this] {
    std::lock_guard lock(mu_);
    --unanswered_;
  };
  for (;;) {
    job j;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      j = std::move(queue_.front());
      queue_.pop_front();
      ++unanswered_;
    }
    auto reply = serve(j);
    if (!reply) {
      finished();
      continue;
    }
    const std::uint32_t to = reply->dst_id;
    const bool queued =
        node_.get_broker().defer([this, finished, reply = std::move(*reply)]() mutable {
          node_.get_router().route(std::move(reply));
          finished();
        });
    if (!queued) {
      spdlog::error("reply to a call from context {} not sent: the broker's loop has exited", to);
      finished();
    }
  }
}

std::optional<message> dispatcher::serve(job& j) {
  message& m = j.m;
  pickle::value result;
  // The clock and the function's name only when an event or an observer
  // wants them: a quick call is a few microseconds in all.
  const bool observed = events::enabled();
  const double started = observed ? events::now() : 0;
  pickle::result<pickle::value> req = j.decoded ? std::move(*j.decoded) : pickle::decode(m.data);
  request r = req ? parts_of(*req) : request{};
  try {
    if (!req) throw std::invalid_argument("cannot decode the request: " + req.error());
    if (!r.six_tuple) throw std::invalid_argument("the request is not a 6-tuple");
    pickle::kwargs no_kwargs;
    if (!r.kwargs && r.kwargs_dict) {
      no_kwargs.items = r.kwargs_dict->items;
      r.kwargs = &no_kwargs;
    }
    if (!r.module || !r.function || !r.args || !r.kwargs)
      throw std::invalid_argument(
          "the request's module, function, args or kwargs has the wrong type");
    const function_table::entry* fn = fns_.find(r.module->utf8, r.function->utf8);
    if (!fn) throw std::invalid_argument("no function " + name_of(r) + " in this context");
    spdlog::debug("calling {}.{} for context {}", r.module->utf8, r.function->utf8, m.src_id);
    if (on_call_start) on_call_start(name_of(r), m.src_id);
    serving_scope scope(m);
    result = fn->fn(*r.args, *r.kwargs);
  } catch (const std::exception& e) {
    spdlog::debug("call {} from context {} failed: {}", name_of(r), m.src_id, e.what());
    result = pickle::call_error{fmt::format("faultmux.CallFailed: {}: {}", name_of(r), e.what())};
  }
  if (observed)
    events::emit(wire::ev::call_served, {{"function", name_of(r)},
                                         {"from", m.src_id},
                                         {"ms", (events::now() - started) * 1000},
                                         {"ok", !result.is<pickle::call_error>()}});
  if (!m.reply_to) {
    if (const auto* e = result.get<pickle::call_error>())
      spdlog::error("call {} from context {} (no reply wanted) failed: {}", name_of(r), m.src_id,
                    e->message);
    return std::nullopt;
  }
  auto body = pickle::encode(result);
  if (!body)
    body = pickle::encode(
        pickle::call_error{"faultmux.CallFailed: cannot pickle the result: " + body.error()});
  message reply;
  reply.dst_id = m.src_id;
  reply.handle = m.reply_to;
  reply.data = std::move(*body);
  return reply;
}

}  // namespace faultmux
