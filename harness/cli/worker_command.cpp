// `faultmux worker`: a client of the mux with an optional workload, or (with
// --behave) a hostile peer, or (with --fault-at) one that dies at a phase.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include "faults/hostile.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/cli/phase_fault_option.hpp"
#include "roles/roles.hpp"
#include "wire/protocol.hpp"

namespace faultmux::cli {
namespace {

struct worker_command_options {
  worker_options worker;
  faults::hostile_options hostile;  // --behave: what the hostile peer does instead
  std::string behave;
  std::string fault_at;  // PHASE:ACTION, checked against --size before the worker starts
};

void add_workload_options(CLI::App* sub, worker_options& w) {
  sub->add_option("--connect", w.connect, "the mux's socket path")->required();
  sub->add_option("--peer", w.peer, "context id to send the workload to (another worker)");
  sub->add_option("--count", w.count, "messages to send and check")->check(non_negative);
  sub->add_option("--size", w.size, "body bytes per message")->capture_default_str();
  sub->add_option("--in-flight", w.in_flight, "messages waiting at once")
      ->check(positive)
      ->capture_default_str();
  sub->add_flag("--ack-only", w.ack_only,
                "the echo handle replies with an empty body instead of the echo");
  sub->add_option("--connect-timeout-ms", w.connect_timeout_ms,
                  "give up connecting after this long")
      ->capture_default_str();
  sub->add_option("--backlog-wait-ms", w.backlog_wait_ms,
                  "retry a full listen backlog (EAGAIN) this long; 0: fail at once "
                  "(default: the whole connect timeout)")
      ->check(CLI::Range(-1, 3600000));
  sub->add_option("--reply-timeout-ms", w.reply_timeout_ms,
                  "fail when no reply comes for this long")
      ->capture_default_str();
  sub->add_option("--events", w.events, "append JSON-lines events to this file");
  sub->add_flag("-v,--verbose", w.verbosity, "more logging; -vv for every message")->take_all();
}

void add_call_options(CLI::App* sub, worker_options& w) {
  sub->add_option("--context", w.context,
                  "call workload: get this context from the mux's faultmux.ContextService");
  sub->add_option("--function", w.function, "call workload: faultmux.builtins function to call")
      ->check(CLI::IsMember({"echo", "checksum", "make_bytes", "getpid", "sleep", "caller_ids"}))
      ->capture_default_str();
  sub->add_option("--relay-to", w.relay_to,
                  "call workload: make each call in this context through --context's "
                  "call_child(id, function, args)");
}

// Hostile peers and phase faults (faults/README.md).
void add_fault_options(CLI::App* sub, worker_command_options& o) {
  faults::hostile_options& h = o.hostile;
  sub->add_option("--behave", o.behave,
                  "misbehave instead of working: " + faults::behaviour_names());
  sub->add_option("--target", h.target, "--behave: the context to message (an echo worker)");
  sub->add_option("--spoof-id", h.spoof_id,
                  "--behave spoof-auth/spoof-src: the id to claim (default: --target)");
  sub->add_option("--hold-ms", h.hold_ms,
                  "--behave: how long to hold, or to wait for the mux's reaction")
      ->check(non_negative)
      ->capture_default_str();
  sub->add_option("--max-message-size", h.max_message_size,
                  "--behave: the message size limit the oversize behaviours go past")
      ->capture_default_str();
  sub->add_option("--pid-bytes", h.pid_bytes, "--behave short-pid: pid bytes sent (0-3)")
      ->capture_default_str();
  sub->add_option("--seed", h.seed, "--behave: seed for garbage and message bodies")
      ->capture_default_str();
  sub->add_option("--fault-at", o.fault_at,
                  "PHASE:ACTION: signal this worker at a phase (" +
                      faults::phases_of(faults::phase_role::worker) +
                      "; SIGKILL, SIGTERM or SIGSTOP)");
}

int run_hostile_command(worker_command_options o, bool size_given) {
  auto what = faults::parse_behaviour(o.behave);
  if (!what) {
    std::fprintf(stderr, "faultmux worker: --behave %s: no such behaviour; use one of %s\n",
                 o.behave.c_str(), faults::behaviour_names().c_str());
    return 2;
  }
  const worker_options& w = o.worker;
  if (w.peer || !w.context.empty() || !o.fault_at.empty()) {
    std::fprintf(stderr,
                 "faultmux worker: --behave %s replaces the worker's own workload: drop "
                 "--peer, --context and --fault-at (the hostile peer messages --target)\n",
                 o.behave.c_str());
    return 2;
  }
  o.hostile.what = *what;
  o.hostile.connect = w.connect;
  o.hostile.count = w.count;
  if (size_given) o.hostile.size = w.size;
  o.hostile.connect_timeout_ms = w.connect_timeout_ms;
  o.hostile.events = w.events;
  return faults::run_hostile(o.hostile);
}

// A mid-frame fault cuts a frame of a header and --size body bytes, so K
// must leave at least one byte of it unsent.
bool mid_frame_fits(const faults::phase_fault& fault, const std::string& text,
                    std::size_t body_size) {
  const std::size_t frame = header_size + body_size;
  if (fault.at != faults::phase::mid_frame || fault.frame_bytes < frame) return true;
  std::fprintf(stderr,
               "faultmux worker: --fault-at %s: K must be below the frame's length, %zu "
               "(%zu header bytes + --size %zu): use K from 1 to %zu, or a larger --size\n",
               text.c_str(), frame, header_size, body_size, frame - 1);
  return false;
}

int run_worker_command(worker_command_options o, bool size_given, const invocation& in) {
  if (!o.behave.empty()) return run_hostile_command(std::move(o), size_given);
  if (!o.fault_at.empty()) {
    o.worker.fault_at =
        parse_fault_at("worker", "--fault-at", o.fault_at, faults::phase_role::worker);
    if (!o.worker.fault_at) return 2;
    if (!mid_frame_fits(*o.worker.fault_at, o.fault_at, o.worker.size)) return 2;
  }
  o.worker.verbosity = std::max(o.worker.verbosity, in.verbosity);
  return run_worker(o.worker);
}

}  // namespace

void add_worker_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<worker_command_options>();
  auto* sub = app.add_subcommand("worker",
                                 "connect to a mux, serve echo, optionally run a message workload");
  add_workload_options(sub, o->worker);
  add_call_options(sub, o->worker);
  add_fault_options(sub, *o);
  on_chosen(sub, chosen, [o, sub](const invocation& in) {
    return run_worker_command(*o, sub->count("--size") > 0, in);
  });
}

}  // namespace faultmux::cli
