#include "roles/call_workload.hpp"

#include <algorithm>
#include <cstdio>

#include "mux/events.hpp"
#include "mux/log.hpp"
#include "mux/pickle.hpp"
#include "roles/builtins.hpp"
#include "roles/payload.hpp"
#include "wire/event_names.hpp"

namespace faultmux {

call_workload::call_workload(node& n, const worker_options& o) : node_(n), o_(o), calls_(n) {}

void call_workload::start(std::function<void()> done) {
  done_ = std::move(done);
  started_ = events::now();
  ask_for_contexts();
}

void call_workload::ask_for_contexts() {
  auto refused = [this, asked = events::now()](const std::string& why) {
    context_refused(asked, why);
  };
  get_context(
      o_.context,
      [this, refused](std::uint32_t id) {
        if (o_.relay_to.empty()) return got_context(id);
        get_context(
            o_.relay_to,
            [this, id](std::uint32_t relay) {
              relay_ = relay;
              std::printf("relay_context=%u\n", relay);
              events::emit(wire::ev::got_context,
                           {{"context", o_.relay_to}, {"context_id", relay}});
              got_context(id);
            },
            refused);
      },
      refused);
}

// The context could not be had (its start failed): the call that needed it
// ends with the service's CallError, and the next call asks again, as each
// task of an Ansible run asks for its connection anew.
void call_workload::context_refused(double asked, const std::string& why) {
  if (finished_) return;
  int seq = next_++;
  events::emit(wire::ev::call, {{"seq", seq},
                                {"function", o_.function},
                                {"relayed_by", 0},
                                {"outcome", "call_error"},
                                {"ms", (events::now() - asked) * 1000},
                                {"error", why}});
  ++failed_;
  spdlog::error("worker: call {} of {} not made: the context service failed: {}", seq, o_.function,
                why);
  if (next_ >= o_.count) return finish();
  node_.get_broker().defer([this] {
    if (!finished_) ask_for_contexts();
  });
}

void call_workload::get_context(const std::string& name, std::function<void(std::uint32_t)> got,
                                std::function<void(const std::string&)> refused) {
  router& r = node_.get_router();
  std::uint32_t mux = *r.parent_id();
  pickle::value req = pickle::tuple{{pickle::text{"faultmux.ContextService"}, pickle::text{"get"},
                                     pickle::kwargs{{{pickle::text{"name"}, pickle::text{name}}}}}};
  message m;
  m.dst_id = mux;
  m.handle = handle::call_service;
  m.data = *pickle::encode(req);
  m.reply_to = r.add_handler(
      [this, got = std::move(got), refused = std::move(refused)](message& reply) {
        if (finished_) return;
        if (reply.is_dead()) return fail("the context service did not answer: " + reply.data);
        auto v = pickle::decode(reply.data);
        if (!v) return fail("undecodable context service reply: " + v.error());
        if (const auto* e = v->get<pickle::call_error>()) return refused(e->message);
        const auto* d = v->get<pickle::dict>();
        if (d) {
          for (const auto& [k, val] : d->items) {
            const auto* key = k.get<pickle::text>();
            const auto* ctx = val.get<pickle::context_ref>();
            if (key && key->utf8 == "context" && ctx)
              return got(static_cast<std::uint32_t>(ctx->id));
          }
        }
        fail("the context service reply has no 'context': " + pickle::to_string(*v));
      },
      {.handle = {}, .persist = false, .policy = {}, .respondent = mux});
  r.route(std::move(m));
}

void call_workload::got_context(std::uint32_t id) {
  target_ = id;
  std::printf("target_context=%u\n", id);
  std::fflush(stdout);
  events::emit(wire::ev::got_context, {{"context", o_.context}, {"context_id", id}});
  while (next_ < o_.count && in_flight_ < o_.in_flight) call_next();
  if (o_.count == 0) finish();
}

void call_workload::call_next() {
  int seq = next_++;
  ++in_flight_;
  call_spec spec;
  spec.context_id = target_;
  spec.function = o_.function;
  if (o_.function == "echo" || o_.function == "checksum")
    spec.args.items.push_back(
        pickle::bytes{make_payload(static_cast<std::uint64_t>(seq), o_.size)});
  else if (o_.function == "make_bytes")
    spec.args.items.push_back(static_cast<std::int64_t>(o_.size));
  else if (o_.function == "sleep")
    spec.args.items.push_back(static_cast<std::int64_t>(o_.size));  // --size is the ms here
  if (relay_) {
    // The called context makes the call: call_child(id, function, args).
    pickle::tuple inner = std::move(spec.args);
    spec.args.items = {static_cast<std::int64_t>(relay_), pickle::text{spec.function},
                       std::move(inner)};
    spec.function = "call_child";
  }
  double sent = events::now();
  calls_.start(
      std::move(spec),
      [this, seq, sent](call_outcome out) { on_outcome(seq, sent, std::move(out)); },
      std::chrono::milliseconds(o_.reply_timeout_ms));
  if (seq == 0 && on_first_call_sent) on_first_call_sent();
}

std::string call_workload::check(int seq, const pickle::value& result) const {
  const std::string& f = o_.function;
  if (f == "echo") {
    const auto* b = result.get<pickle::bytes>();
    if (!b || !is_payload(b->data, static_cast<std::uint64_t>(seq), o_.size))
      return "echo returned other bytes";
  } else if (f == "checksum") {
    const auto* i = result.get<std::int64_t>();
    if (!i || *i != crc32_of(make_payload(static_cast<std::uint64_t>(seq), o_.size)))
      return "wrong crc32";
  } else if (f == "make_bytes") {
    const auto* b = result.get<pickle::bytes>();
    if (!b || b->data != make_payload(o_.size, o_.size)) return "make_bytes returned other bytes";
  } else if (f == "getpid") {
    const auto* i = result.get<std::int64_t>();
    if (!i || *i <= 0) return "getpid returned no pid";
  } else if (f == "sleep") {
    if (!result.is<pickle::none_t>()) return "sleep returned something";
  } else if (f == "caller_ids") {
    // The context saw our id as src_id and, stamped by the mux, the mux's id
    // as auth_id; the relaying context's own id when relayed.
    const router& r = node_.get_router();
    const std::uint32_t src = relay_ ? target_ : r.config().context_id;
    const std::uint32_t auth = relay_ ? target_ : *r.parent_id();
    const auto* t = result.get<pickle::tuple>();
    const auto* got_src = t && t->items.size() == 2 ? t->items[0].get<std::int64_t>() : nullptr;
    const auto* got_auth = t && t->items.size() == 2 ? t->items[1].get<std::int64_t>() : nullptr;
    if (!got_src || !got_auth) return "caller_ids returned no (src_id, auth_id)";
    if (*got_src != src || *got_auth != auth)
      return fmt::format("caller_ids: the context saw src_id {} auth_id {}, expected {} and {}",
                         *got_src, *got_auth, src, auth);
  }
  return {};
}

void call_workload::on_outcome(int seq, double sent, call_outcome out) {
  --in_flight_;
  if (finished_) return;
  double ms = (events::now() - sent) * 1000;
  std::string problem;
  const char* outcome = "result";
  switch (out.what) {
    case call_outcome::kind::result:
      problem = check(seq, out.result);
      if (!problem.empty()) outcome = "wrong";
      break;
    case call_outcome::kind::remote_error:
      outcome = "call_error";
      problem = out.error;
      break;
    case call_outcome::kind::dead:
      outcome = "disconnected";
      problem = out.error;
      break;
    case call_outcome::kind::timeout:
      outcome = "timeout";
      problem = out.error;
      break;
    case call_outcome::kind::bad_reply:
      outcome = "bad_reply";
      problem = out.error;
      break;
  }
  events::emit(wire::ev::call, {{"seq", seq},
                                {"function", o_.function},
                                {"relayed_by", relay_ ? target_ : 0},
                                {"outcome", outcome},
                                {"ms", ms},
                                {"error", problem}});
  if (problem.empty()) {
    ++ok_count_;
    latencies_.push_back(ms);
  } else {
    ++failed_;
    spdlog::error("worker: call {} of {} in context {} failed ({}): {}", seq, o_.function, target_,
                  outcome, problem);
  }
  if (next_ < o_.count) {
    // A dead outcome can come from our own router inside route(), or while
    // it handles the route's loss (DEL_ROUTE): the next call goes from the
    // loop, after that, and without recursing once per call left.
    if (out.what == call_outcome::kind::dead) {
      ++in_flight_;  // held for the deferred call
      node_.get_broker().defer([this] {
        --in_flight_;
        if (!finished_ && next_ < o_.count) return call_next();
        if (!finished_ && in_flight_ == 0) finish();
      });
      return;
    }
    return call_next();
  }
  if (in_flight_ == 0) finish();
}

void call_workload::on_parent_lost() {
  if (!done_ || finished_) return;
  fail("connection to the mux lost");
}

void call_workload::fail(const std::string& why) {
  if (finished_) return;
  spdlog::error("worker: call workload failed: {}", why);
  events::emit(wire::ev::workload_failed, {{"why", why}});
  failed_ += o_.count - next_ + in_flight_;
  finish();
}

void call_workload::finish() {
  finished_ = true;
  std::sort(latencies_.begin(), latencies_.end());
  auto pct = [&](double q) {
    return latencies_.empty() ? 0.0
                              : latencies_[static_cast<std::size_t>(q * (latencies_.size() - 1))];
  };
  events::emit(wire::ev::workload_done, {{"count", o_.count},
                                         {"ok", ok_count_},
                                         {"failed", failed_},
                                         {"seconds", events::now() - started_},
                                         {"p50_ms", pct(0.5)},
                                         {"p99_ms", pct(0.99)}});
  std::printf("done ok=%d failed=%d p50_ms=%.3f p99_ms=%.3f\n", ok_count_, failed_, pct(0.5),
              pct(0.99));
  std::fflush(stdout);
  if (done_) std::exchange(done_, nullptr)();
}

}  // namespace faultmux
