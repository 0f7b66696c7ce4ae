#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <vector>

#include "mux/connect.hpp"
#include "mux/events.hpp"
#include "mux/frame.hpp"
#include "mux/log.hpp"
#include "mux/node.hpp"
#include "roles/call_workload.hpp"
#include "roles/payload.hpp"
#include "roles/phase_hook.hpp"
#include "roles/roles.hpp"
#include "wire/event_names.hpp"
#include "wire/hello.hpp"

namespace faultmux {
namespace {

// Sends `count` messages to the peer's echo handle with `in_flight` waiting,
// and checks each reply's order and content. Runs on the broker thread.
class echo_workload {
 public:
  echo_workload(node& n, const worker_options& o) : node_(n), o_(o) {}

  void start(std::function<void()> done) {
    done_ = std::move(done);
    reply_handle_ = node_.get_router().add_handler([this](message& m) { on_reply(m); });
    started_ = events::now();
    while (next_ < o_.count && static_cast<int>(outstanding_.size()) < o_.in_flight) send_next();
    arm_watchdog();
  }

  // The stream to the mux is gone while messages were outstanding.
  void on_parent_lost() {
    if (!done_ || finished_) return;
    fail(fmt::format("connection to the mux lost with {} messages outstanding",
                     outstanding_.size()));
  }

  bool ok() const { return failed_ == 0 && ok_count_ == o_.count; }
  // The first request has been handed to the router and no reply is in yet.
  bool awaiting_first_reply() const {
    return !finished_ && next_ > 0 && ok_count_ + failed_ == 0 && !outstanding_.empty();
  }

  // Called once, right after the first request is routed.
  std::function<void()> on_first_sent;

 private:
  void send_next() {
    message m;
    m.dst_id = *o_.peer;
    m.handle = worker_echo_handle;
    m.reply_to = reply_handle_;
    m.data = make_payload(static_cast<std::uint64_t>(next_), o_.size);
    outstanding_.push_back({next_, events::now()});
    ++next_;
    node_.get_router().route(std::move(m));
    if (next_ == 1 && on_first_sent) on_first_sent();
  }

  void on_reply(message& m) {
    if (finished_) return;
    progress_ = true;
    if (outstanding_.empty()) return fail("a reply arrived with nothing outstanding");
    auto [seq, sent] = outstanding_.front();
    outstanding_.pop_front();
    if (m.is_dead()) {
      ++failed_;
      spdlog::error("worker: message {} to context {} came back dead: {}", seq, *o_.peer, m.data);
      events::emit(wire::ev::reply, {{"seq", seq},
                                     {"outcome", "dead"},
                                     {"reason", m.data},
                                     {"error", m.data},
                                     {"ms", (events::now() - sent) * 1000}});
    } else if (!is_payload(m.data, static_cast<std::uint64_t>(seq), o_.size)) {
      ++failed_;
      spdlog::error("worker: reply to message {} is wrong or out of order ({} bytes)", seq,
                    m.data.size());
      events::emit(wire::ev::reply, {{"seq", seq}, {"outcome", "mismatch"}});
    } else {
      ++ok_count_;
      const double rtt = events::now() - sent;
      latencies_.push_back(rtt);
      // Each round trip's latency, for the report's distribution.
      events::emit(wire::ev::reply, {{"seq", seq}, {"outcome", "ok"}, {"ms", rtt * 1000}});
    }
    if (next_ < o_.count) {
      // A dead reply can come from our own router inside route() (no route
      // once the mux is gone): sending from here would recurse once per
      // message left and overflow the stack. Send from the loop instead.
      if (m.is_dead()) {
        node_.get_broker().defer([this] {
          if (!finished_ && next_ < o_.count) send_next();
        });
      } else {
        send_next();
      }
    }
    if (outstanding_.empty() && next_ >= o_.count) finish();
  }

  void arm_watchdog() {
    watchdog_ = node_.get_broker().after(std::chrono::milliseconds(o_.reply_timeout_ms), [this] {
      if (finished_) return;
      if (!progress_)
        return fail(fmt::format("no reply for {} ms with {} messages outstanding",
                                o_.reply_timeout_ms, outstanding_.size()));
      progress_ = false;
      arm_watchdog();
    });
  }

  void fail(const std::string& why) {
    spdlog::error("worker: workload failed: {}", why);
    failed_ += static_cast<int>(outstanding_.size()) + (o_.count - next_);
    outstanding_.clear();
    events::emit(wire::ev::workload_failed, {{"why", why}});
    finish();
  }

  void finish() {
    finished_ = true;
    watchdog_.cancel();
    std::sort(latencies_.begin(), latencies_.end());
    auto pct = [&](double q) {
      return latencies_.empty()
                 ? 0.0
                 : latencies_[static_cast<std::size_t>(q * (latencies_.size() - 1))] * 1e6;
    };
    double elapsed = events::now() - started_;
    events::emit(wire::ev::workload_done, {{"count", o_.count},
                                           {"ok", ok_count_},
                                           {"failed", failed_},
                                           {"seconds", elapsed},
                                           {"p50_us", pct(0.5)},
                                           {"p99_us", pct(0.99)},
                                           {"max_us", pct(1.0)}});
    std::printf("done ok=%d failed=%d seconds=%.3f p50_us=%.1f p99_us=%.1f\n", ok_count_, failed_,
                elapsed, pct(0.5), pct(0.99));
    std::fflush(stdout);
    if (done_) done_();
  }

  node& node_;
  const worker_options& o_;
  std::uint32_t reply_handle_ = 0;
  int next_ = 0;
  int ok_count_ = 0;
  int failed_ = 0;
  bool finished_ = false;
  bool progress_ = false;
  double started_ = 0;
  std::deque<std::pair<int, double>> outstanding_;
  std::vector<double> latencies_;
  timer_handle watchdog_;
  std::function<void()> done_;
};

// Writes bytes to a non-blocking socket, waiting (bounded) for room.
bool write_all(int fd, std::string_view bytes, std::chrono::milliseconds timeout) {
  auto end = std::chrono::steady_clock::now() + timeout;
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    pollfd p{fd, POLLOUT, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  }
  return true;
}

// The request a mid-frame fault cuts: an echo request to the peer (no reply
// wanted, so a frame completed after SIGCONT changes no workload), or a
// message to the mux when there is no peer.
std::string mid_frame_request(const worker_options& o, const connection& c) {
  message m;
  m.dst_id = o.peer.value_or(c.parent_id);
  m.src_id = c.context_id;
  m.auth_id = c.context_id;
  m.handle = o.peer ? worker_echo_handle : 0;
  m.data = make_payload(0, o.size);
  return encode_frame(m);
}

// Connects to the mux, firing the phase faults of the handshake; nothing
// (after logging and emitting why) when the connection failed.
std::optional<connection> connect_worker(const worker_options& o, faults::phase_trigger& trigger) {
  try {
    std::optional<std::chrono::milliseconds> backlog_wait;
    if (o.backlog_wait_ms >= 0) backlog_wait = std::chrono::milliseconds(o.backlog_wait_ms);
    return connect_unix(
        o.connect, std::chrono::milliseconds(o.connect_timeout_ms),
        [&](connect_phase p) { at_phase(trigger, phase_of(p)); }, backlog_wait);
  } catch (const connect_error& e) {
    spdlog::error("worker: {}", e.what());
    events::emit(wire::ev::connect_failed,
                 {{"path", e.path()},
                  {"errno", strerrorname_np(e.error()) ? strerrorname_np(e.error()) : "?"},
                  {"detail", e.what()}});
    return std::nullopt;
  }
}

// SIGTERM and SIGINT blocked on this thread until release(): from saying
// its id until its SIGTERM handler is in place, a SIGTERM (the driver
// ending its workers) waits instead of killing the worker.
class term_hold {
 public:
  term_hold() {
    sigemptyset(&term_);
    sigaddset(&term_, SIGTERM);
    sigaddset(&term_, SIGINT);
  }
  void hold() {
    if (!held_) held_ = ::pthread_sigmask(SIG_BLOCK, &term_, &old_mask_) == 0;
  }
  void release() {
    if (held_) ::pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
    held_ = false;
  }

 private:
  sigset_t term_, old_mask_;
  bool held_ = false;
};

// K bytes of a request, the mid-frame fault, then (if the process goes on)
// the rest. False when a write failed (logged).
bool send_frame_around_fault(const worker_options& o, const connection& c,
                             faults::phase_trigger& trigger) {
  std::string frame = mid_frame_request(o, c);
  std::size_t k = std::min(trigger.fault()->frame_bytes, frame.size());
  if (!write_all(c.fd.get(), std::string_view(frame).substr(0, k), std::chrono::seconds(10))) {
    spdlog::error("worker: writing the first {} bytes of a frame: {}", k, errno_text(errno));
    return false;
  }
  events::emit(wire::ev::frame_part_sent, {{"bytes", k}, {"frame_bytes", frame.size()}});
  at_phase(trigger, faults::phase::mid_frame);
  if (!write_all(c.fd.get(), std::string_view(frame).substr(k), std::chrono::seconds(10))) {
    spdlog::error("worker: writing the rest of a frame: {}", errno_text(errno));
    return false;
  }
  return true;
}

// Answers the peer workers' echo requests (with an empty body when ack_only).
void serve_echo(router& r, faults::phase_trigger& trigger, bool ack_only) {
  r.add_handler(
      [&r, &trigger, ack_only](message& m) {
        if (!m.reply_to || m.is_dead()) return;
        // request-received: a peer waits on this request, unanswered.
        at_phase(trigger, faults::phase::request_received);
        message reply;
        reply.dst_id = m.src_id;
        reply.handle = m.reply_to;
        if (!ack_only) reply.data = std::move(m.data);
        r.route(std::move(reply));
      },
      handler_options{
          .handle = worker_echo_handle, .persist = true, .policy = {}, .respondent = {}});
}

// The connected worker's life: a node on the connection, the echo handler,
// the workload (if any) until it ends or the mux goes away. The exit code.
int run_connected(const worker_options& o, connection c, faults::phase_trigger& trigger,
                  term_hold& term) {
  node_config cfg;
  cfg.routing.context_id = c.context_id;
  cfg.routing.parent_ids = {c.parent_id};
  node n(cfg);
  serve_echo(n.get_router(), trigger, o.ack_only);

  echo_workload load(n, o);
  call_workload calls(n, o);
  const bool calling = !o.context.empty();
  bool parent_lost = false;
  bool closing = false;  // we close the stream ourselves: no loss to report
  n.on_stream_closed = [&](stream&, int err) {
    // Our own close is a clean one (err 0); an error is the connection's.
    if ((!closing || err != 0) && !parent_lost)
      events::emit(wire::ev::connection_lost,
                   {{"errno", err ? (strerrorname_np(err) ? strerrorname_np(err) : "?") : "EOF"}});
    parent_lost = true;
    load.on_parent_lost();
    calls.on_parent_lost();
    n.get_broker().stop();
  };
  std::shared_ptr<stream> to_mux =
      n.attach(std::move(c.fd), fmt::format("unix_listener.{}", c.parent_pid), c.parent_id);
  // awaiting-reply: the first request is on the wire (the stream's queue is
  // empty, so the kernel has it) and its reply not yet read.
  std::function<void()> first_request_sent = [&] {
    bool waiting = calling ? calls.awaiting_first_reply() : load.awaiting_first_reply();
    if (!trigger.due(faults::phase::awaiting_reply) || !waiting || to_mux->closed()) return;
    // Sent from inside a delivery, it is written when the broker uncorks:
    // look again then, before any reply can be read.
    if (n.get_broker().corked()) {
      n.get_broker().when_uncorked(first_request_sent);
      return;
    }
    if (to_mux->queued_bytes() > 0) {
      n.get_broker().after(std::chrono::milliseconds(1), first_request_sent);
      return;
    }
    at_phase(trigger, faults::phase::awaiting_reply);
  };
  load.on_first_sent = first_request_sent;
  calls.on_first_call_sent = first_request_sent;
  auto stop = [&] {
    closing = true;
    n.shutdown([&] { n.get_broker().stop(); });
  };
  n.on_signals({SIGTERM, SIGINT}, [&](int) { stop(); });
  term.release();
  if (calling)
    n.get_broker().defer([&] { calls.start(stop); });
  else if (o.count > 0)
    n.get_broker().defer([&] { load.start(stop); });
  n.get_broker().run();

  if (calling) return calls.ok() ? 0 : 1;
  if (o.count > 0) return load.ok() ? 0 : 1;
  if (parent_lost) spdlog::info("worker: the mux closed the connection: exiting");
  return 0;
}

}  // namespace

int run_worker(const worker_options& o) {
  log::init("worker", o.verbosity);
  events::open(o.events, "worker");
  if (o.count > 0 && !o.peer && o.context.empty()) {
    spdlog::error(
        "worker: --count needs --peer (a worker to message) or --context (a context to call)");
    return 2;
  }
  faults::phase_trigger trigger(o.fault_at);
  std::optional<connection> c = connect_worker(o, trigger);
  if (!c) return 3;
  // Phase faults inside the handshake keep their default disposition; a
  // mid-frame one is raised before the block.
  term_hold term;
  if (!trigger.due(faults::phase::mid_frame)) term.hold();
  std::printf("%s\n", wire::format_hello({c->context_id, c->parent_id}).c_str());
  std::fflush(stdout);
  events::emit(wire::ev::connected, {{"context_id", c->context_id}, {"parent_id", c->parent_id}});
  if (trigger.due(faults::phase::mid_frame) && !send_frame_around_fault(o, *c, trigger)) return 1;
  term.hold();
  return run_connected(o, std::move(*c), trigger, term);
}

}  // namespace faultmux
