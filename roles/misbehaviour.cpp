#include "roles/misbehaviour.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include "mux/coverage.hpp"
#include "mux/dispatcher.hpp"
#include "mux/events.hpp"
#include "mux/fd.hpp"
#include "mux/log.hpp"
#include "mux/log_forward.hpp"
#include "mux/node.hpp"
#include "wire/event_names.hpp"
#include "wire/protocol.hpp"

namespace faultmux {
namespace {

void record(const faults::child_behaviour& b) {
  spdlog::info("fault: behaviour {}", faults::to_string(b));
  events::emit(wire::ev::fault, {{"kind", "behaviour"},
                                 {"behaviour", faults::act_name(b.act)},
                                 {"spec", faults::to_string(b)}});
}

// Writes all of `s` to fd 2, however slowly the parent reads.
void write_stderr(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(2, s.data(), s.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

// N bytes of diagnostics, in lines, the last one saying why it gives up and
// ending without a newline, as a process that dies mid-line leaves it.
[[noreturn]] void stderr_then_exit(std::uint64_t bytes) {
  ::close(1);  // stdout ends first, as a child dying in its start-up does
  std::string out;
  for (int i = 0; out.size() + 80 < bytes; ++i)
    out += fmt::format("diagnostic {:06}: the context is starting, this is noise\n", i);
  out += "fatal: the context cannot start: giving up";
  write_stderr(out);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  spdlog::default_logger()->flush();
  flush_coverage();
  std::_Exit(1);
}

[[noreturn]] void live_on(std::uint64_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  flush_coverage();
  std::_Exit(0);
}

// The channel is shut both ways (its parent sees EOF) while the process
// runs on for `ms` with its broker held, so nothing of this context answers
// or notices, and SIGTERM does what the act says. A quick call runs on the
// broker's thread, which then holds itself; another waits until the broker is
// held.
void linger(node& n, int channel, std::uint64_t ms, bool ignore_sigterm) {
  struct sigaction sa {};
  sa.sa_handler = ignore_sigterm ? SIG_IGN : SIG_DFL;
  ::sigaction(SIGTERM, &sa, nullptr);
  if (n.get_broker().on_broker_thread()) {
    ::shutdown(channel, SHUT_RDWR);
    live_on(ms);
  }
  // Its own line reaches the parent before the channel goes.
  flush_forwarded_logs(n, std::chrono::milliseconds(1000));
  auto held = std::make_shared<std::promise<void>>();
  std::future<void> holding = held->get_future();
  if (!n.get_broker().defer([held, ms] {
        held->set_value();
        live_on(ms);
      }))
    return;
  holding.wait();
  ::shutdown(channel, SHUT_RDWR);
}

void send_malformed_log(node& n, std::uint32_t parent) {
  n.get_broker().defer([&n, parent] {
    message m;
    m.dst_id = parent;
    m.handle = handle::forward_log;
    m.data = "a record with neither separator";
    n.get_router().route(std::move(m));
  });
}

void act_at_first_call(node& n, int channel, std::uint32_t parent,
                       const faults::child_behaviour& b) {
  using faults::child_act;
  record(b);
  switch (b.act) {
    case child_act::linger:
    case child_act::linger_ignoring_sigterm:
      return linger(n, channel, b.n, b.act == child_act::linger_ignoring_sigterm);
    case child_act::stderr_without_newline:
      return write_stderr(std::string(b.n, 'x'));
    case child_act::log_flood:
      // Warnings, so the run can count that every one reached the parent.
      for (std::uint64_t i = 0; i < b.n; ++i) spdlog::warn("flood record {} of {}", i + 1, b.n);
      return;
    case child_act::malformed_log:
      return send_malformed_log(n, parent);
    case child_act::stderr_then_exit:
      return;  // acted at the start
  }
}

}  // namespace

void misbehave_at_start(const faults::child_behaviour& b) {
  if (b.pipe_bytes) {
    for (int fd : {1, 2})
      if (::fcntl(fd, F_SETPIPE_SZ, static_cast<int>(b.pipe_bytes)) < 0)
        spdlog::warn("cannot set the pipe size of fd {} to {}: {}", fd, b.pipe_bytes,
                     errno_text(errno));
  }
  if (b.act != faults::child_act::stderr_then_exit) return;
  record(b);
  stderr_then_exit(b.n);
}

void arm_misbehaviour(node& n, dispatcher& calls_served, int channel, std::uint32_t parent,
                      const faults::child_behaviour& b) {
  if (faults::before_hello(b.act)) return;
  auto fired = std::make_shared<std::atomic<bool>>(false);
  calls_served.on_call_start = [&n, channel, parent, b, fired,
                                previous = std::move(calls_served.on_call_start)](
                                   const std::string& fn, std::uint32_t from) {
    if (!fired->exchange(true)) act_at_first_call(n, channel, parent, b);
    if (previous) previous(fn, from);
  };
}

}  // namespace faultmux
