// A failure's signature: what `faultmux repro` must make happen again. The
// error lines by class (on the mux and on the clients), the calls that
// failed with their errno, fd class and phase, the oracles that failed, and
// the workload it happened under (clients, message sizes, contexts).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "harness/repro/evidence.hpp"
#include "harness/repro/strace.hpp"

namespace faultmux::repro {

// An error line's class, with the errno (or reason) it names.
struct error_hit {
  side from = side::mux;
  // "identity read failed", "identity send failed", "accept failed",
  // "listener closed", "stream disconnected", "dead reply", "connect failed",
  // "connection lost", "crash", "hang"; "other: <the line made generic>".
  std::string cls;
  std::string err;   // "EAGAIN", a dead reply's reason; "" when the line names none
  std::string line;  // the line it came from
  // "side:class[ err]": what acceptance compares.
  std::string key() const;
};

// The classes of one error line (a line can say two things: "recv() of the
// remote identity failed: EAGAIN ...: the listener is closed").
std::vector<error_hit> classify(side from, const std::string& line);

// The errno a line names ("EAGAIN", "[Errno 11]", "Connection reset by
// peer"), as its symbolic name; "" when none.
std::string errno_in(const std::string& line);

struct signature {
  std::vector<error_hit> hits;
  std::vector<failed_call> calls;         // from an strace, events or inferred from lines
  std::set<std::string> oracle_failures;  // the oracles the evidence shows failing
  int clients = 0;                        // clients involved (0: not known)
  std::uint64_t max_message_size = 0;     // a limit the evidence names ("max 65536 bytes")
  bool contexts = false;                  // calls to contexts are in the evidence
  bool shutdown = false;                  // the mux was shutting down with clients on it
  // How the clients connect, when their errors say: how long a full backlog
  // is retried ("stayed full for 0 ms") and how long the handshake may take
  // ("no identity from the listener within 1500 ms"); -1 when not said.
  int backlog_wait_ms = -1;
  int connect_timeout_ms = -1;
  std::vector<std::string> sources;  // "mux.log (faultmux's log)"

  // Distinct keys of the hits.
  std::set<std::string> keys() const;
  bool empty() const { return hits.empty() && calls.empty() && oracle_failures.empty(); }
};

// Adds one evidence file to the signature.
void add_evidence(signature& sig, const evidence_file& f);

// Adds one faultmux event line (events, a run's timeline): its error lines
// and the events that say what failed (listener_crashed, accept_error,
// handshake_failed, disconnect with an errno, dead, connect_failed, the
// shim's injected faults). `role` is the line's, or its file's.
void add_event(signature& sig, const nlohmann::json& e, const std::string& source);

// Drops what a good run shows too: hits whose line, made generic, appears
// in `good`, and calls failing the same way.
void remove_good(signature& sig, const signature& good);

// The signature as printed for the user to check.
std::string describe(const signature& sig);

}  // namespace faultmux::repro
