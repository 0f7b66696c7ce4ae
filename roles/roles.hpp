// The roles of the faultmux binary, each a real program a person can run.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "faults/phase.hpp"
#include "mux/legacy.hpp"
#include "wire/limits.hpp"

namespace faultmux {

struct mux_options {
  std::string listen;  // empty: a private directory under $TMPDIR
  int backlog = 100;
  std::uint64_t max_message_size = limits::max_message_size;
  std::size_t output_cap = limits::output_cap;
  bool unidirectional = false;
  int handshake_timeout_ms = limits::handshake_timeout_ms;
  int shutdown_grace_ms = limits::shutdown_grace_ms;
  std::string events;
  int verbosity = 0;
  std::string self;  // this binary, re-executed for the contexts the mux starts
  // Context path ("a", or "a/b": b started by a) -> "PHASE:ACTION[@parent]",
  // passed down to the context it names as `--fault-at` (roles/context_args.hpp).
  std::map<std::string, std::string> context_fault_at;
  // Contexts the ContextService starts before the mux says it is listening.
  std::vector<std::string> start_contexts;
  // Context path -> a misbehaviour, passed down as `--behave`.
  std::map<std::string, std::string> context_behaviours;
  legacy_bugs legacy;  // --legacy-bug: historical Mitogen failures, on purpose
};

// Runs a mux until SIGTERM/SIGINT; 0 after a clean shutdown, 2 when it
// cannot listen.
int run_mux(const mux_options& o);

struct worker_options {
  std::string connect;
  std::optional<std::uint32_t> peer;  // context to send the workload to
  int count = 0;                      // messages; 0 = only serve echo
  std::size_t size = 64;              // body bytes per message
  int in_flight = 1;
  bool ack_only = false;  // echo handle replies with an empty body (one-way throughput)
  int connect_timeout_ms = limits::connect_timeout_ms;
  int backlog_wait_ms = -1;      // retry a full backlog this long; -1: the whole connect timeout
  int reply_timeout_ms = 30000;  // no progress for this long fails the workload
  // Call workload: with a context name, the worker gets that context from the
  // mux's faultmux.ContextService and makes `count` calls of `function`.
  std::string context;
  std::string function = "echo";
  // Relayed calls: each call goes to `context` as call_child(id, function,
  // args), which makes the call in this other context (a sibling, or its child).
  std::string relay_to;
  std::string events;
  int verbosity = 0;
  // A process fault at a phase of this worker's life (faults/phase.hpp).
  std::optional<faults::phase_fault> fault_at;
};

// Connects and runs the workload: 0 when every reply came back correct and
// in order, 1 when the workload failed, 3 when it could not connect.
int run_worker(const worker_options& o);

// The built-in smoke workload: a mux, an echo worker, load workers and call
// workloads into a context.
int run_smoke(const std::string& self, int verbosity);

}  // namespace faultmux
