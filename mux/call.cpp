#include "mux/call.hpp"

#include "mux/log.hpp"
#include "mux/node.hpp"
#include "mux/pickle.hpp"

namespace faultmux {

std::string encode_call(const call_spec& spec) {
  pickle::value body = pickle::tuple{{pickle::none, pickle::text{spec.module}, pickle::none,
                                      pickle::text{spec.function}, spec.args, spec.kwargs}};
  auto bytes = pickle::encode(body);
  if (!bytes)
    throw std::invalid_argument("cannot pickle call to " + spec.function + ": " + bytes.error());
  return *bytes;
}

namespace {

call_outcome outcome_of(message& m) {
  call_outcome o;
  if (m.is_dead()) {
    o.what = call_outcome::kind::dead;
    o.error = m.data;
    return o;
  }
  auto v = pickle::decode(m.data);
  if (!v) {
    o.what = call_outcome::kind::bad_reply;
    o.error = "undecodable reply: " + v.error();
  } else if (const auto* e = v->get<pickle::call_error>()) {
    o.what = call_outcome::kind::remote_error;
    o.error = e->message;
  } else {
    o.what = call_outcome::kind::result;
    o.result = std::move(*v);
  }
  return o;
}

}  // namespace

void caller::start(call_spec spec, std::function<void(call_outcome)> done,
                   std::optional<std::chrono::milliseconds> deadline) {
  router& r = node_.get_router();
  message m;
  try {
    m.data = encode_call(spec);
  } catch (const std::exception& e) {
    return done({call_outcome::kind::bad_reply, {}, e.what()});
  }
  // One outcome only: the reply, a dead message, or the deadline.
  auto finished = std::make_shared<std::function<void(call_outcome)>>(std::move(done));
  auto timer = std::make_shared<timer_handle>();
  std::uint32_t h = r.add_handler(
      [finished, timer](message& reply) {
        timer->cancel();
        if (*finished) std::exchange(*finished, nullptr)(outcome_of(reply));
      },
      {.handle = {}, .persist = false, .policy = {}, .respondent = spec.context_id});
  if (deadline) {
    *timer = node_.get_broker().after(*deadline, [this, h, finished, deadline] {
      node_.get_router().del_handler(h);
      if (*finished)
        std::exchange(*finished,
                      nullptr)({call_outcome::kind::timeout,
                                {},
                                fmt::format("no reply within {} ms", deadline->count())});
    });
  }
  m.dst_id = spec.context_id;
  m.handle = handle::call_function;
  m.reply_to = h;
  r.route(std::move(m));
}

namespace {

constexpr const char* loop_exited = "the broker's loop has exited: the call can get no reply";

}  // namespace

call_receiver caller::call_async(call_spec spec) {
  call_receiver rx;
  rx.broker_exited_ = node_.get_broker().exited();
  std::weak_ptr<call_receiver::state> weak = rx.state_;
  const bool queued = node_.get_broker().defer([this, spec = std::move(spec), weak]() mutable {
    start(std::move(spec), [weak](call_outcome o) {
      if (auto st = weak.lock()) {
        std::lock_guard lock(st->mu);
        st->outcome = std::move(o);
        st->cv.notify_all();
      }
    });
  });
  if (!queued) rx.state_->outcome = call_outcome{call_outcome::kind::dead, {}, loop_exited};
  return rx;
}

pickle::value caller::call(call_spec spec, std::chrono::milliseconds deadline) {
  return call_async(std::move(spec)).get(deadline);
}

void caller::call_no_reply(call_spec spec) {
  message m;
  m.dst_id = spec.context_id;
  m.handle = handle::call_function;
  m.data = encode_call(spec);
  if (!node_.get_broker().defer(
          [this, m = std::move(m)]() mutable { node_.get_router().route(std::move(m)); }))
    spdlog::error("call to context {} not sent: {}", spec.context_id, loop_exited);
}

call_outcome call_receiver::wait(std::chrono::milliseconds deadline) {
  using clock = std::chrono::steady_clock;
  // Looks at the broker now and then: a call queued as its loop exited is
  // never sent, and must not wait out its whole deadline.
  constexpr auto look_every = std::chrono::milliseconds(20);
  const auto end = clock::now() + deadline;
  std::unique_lock lock(state_->mu);
  for (;;) {
    if (state_->outcome) return *state_->outcome;
    if (broker_exited_ && *broker_exited_) return {call_outcome::kind::dead, {}, loop_exited};
    const auto now = clock::now();
    if (now >= end)
      return {
          call_outcome::kind::timeout, {}, fmt::format("no reply within {} ms", deadline.count())};
    state_->cv.wait_until(lock, std::min(end, now + look_every));
  }
}

pickle::value call_receiver::get(std::chrono::milliseconds deadline) {
  call_outcome o = wait(deadline);
  switch (o.what) {
    case call_outcome::kind::result:
      return std::move(o.result);
    case call_outcome::kind::remote_error:
      throw call_error(o.error);
    case call_outcome::kind::dead:
      throw channel_error(o.error);
    case call_outcome::kind::timeout:
      throw call_timeout(o.error);
    case call_outcome::kind::bad_reply:
      break;
  }
  throw channel_error(o.error);
}

bool call_receiver::ready() const {
  std::lock_guard lock(state_->mu);
  return state_->outcome.has_value();
}

}  // namespace faultmux
