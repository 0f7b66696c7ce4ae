// A scenario: one field failure to reproduce, as loaded from
// scenarios/<name>.toml. Plain data; harness/scenario_load.cpp reads it
// strictly and the driver runs it.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "wire/limits.hpp"

namespace faultmux {

// A line of an external target's log that becomes an event.
struct log_pattern {
  std::string pattern;  // ECMAScript regex
  std::string event;    // event name it stands for
  std::string level = "error";
};

struct target_spec {
  // fake-listener: `faultmux fake-listener`, a hostile listener for the
  // client's side (scenario listener-short-identity); it stays the target under --target mitogen.
  enum class kind_t { builtin, external, fake_listener };
  kind_t kind = kind_t::builtin;
  int backlog = 0;  // 0: the number of workers, as Ansible sets it to forks
  std::uint64_t max_message_size = limits::max_message_size;
  std::uint64_t output_cap = limits::output_cap;
  bool unidirectional = false;
  int handshake_timeout_ms = limits::handshake_timeout_ms;
  int shutdown_grace_ms = limits::shutdown_grace_ms;
  // external: argv; "{socket}", "{backlog}", "{max_message_size}" and
  // "{source}" (the checkout) are substituted.
  std::vector<std::string> command;
  std::vector<log_pattern> log;
  // A stale socket file (bound, nobody listening) is left at the path
  // before the target starts: it must replace it (restart-over-stale-socket).
  bool stale_socket = false;
  // fake-listener: connection i is answered with answer_bytes[i % n] of the
  // 12 identity bytes after its pid, then closed; -1: closed before the pid.
  std::vector<int> answer_bytes;
};

// Workers that behave alike (Ansible's forks).
struct worker_group {
  // second-mux: starts another instance of the target on the same, live
  // path; it must refuse and exit (second-mux-live-path).
  enum class workload_t { connect, serve, echo, calls, hostile, second_mux };
  std::string name;
  int count = 1;
  workload_t workload = workload_t::connect;
  std::string peer;  // echo: a group whose workload is serve
  int messages = 0;  // echo, calls
  std::uint64_t size = 64;
  int in_flight = 1;
  std::string context;  // calls
  std::string function = "echo";
  std::string relay_to;     // calls: each call made in this context by `context`'s call_child
  std::string behave;       // hostile: a faults/ behaviour name
  std::string fault_at;     // PHASE:ACTION, hit by each worker of the group
  int fault_at_index = -1;  // only this worker of the group hits fault_at; -1: every one
  // fault_at ...:SIGSTOP: the driver sends SIGCONT this long after the worker
  // stopped itself; -1: never.
  int fault_resume_after_ms = -1;
  int start_after_ms = 0;
  int connect_timeout_ms = -1;  // -1: derived from the scenario's timeout
  // A full backlog (EAGAIN at connect): by default a worker fails at once,
  // as Mitogen's client does; client_retry retries for the whole connect
  // timeout, backlog_wait_ms (>= 0) for that long.
  bool client_retry = false;
  int backlog_wait_ms = -1;  // -1: not set (client_retry decides)
  // Where the group connects: "" the target's socket; "missing" a path
  // nothing is bound to; "stale" a socket file bound with nobody listening.
  std::string path;
};

struct fault_spec {
  enum class kind_t { syscall, signal, nofile, context };
  kind_t kind = kind_t::syscall;
  std::string process = "mux";  // mux, or a worker group
  std::string rule;             // syscall: a shim rule
  bool in_workers = false;      // syscall: the rule is loaded into the workers, not the mux
  std::string signal;           // signal: SIGKILL, SIGTERM, SIGSTOP, SIGCONT
  bool before_workers = false;  // signal: sent before any worker starts
  int at_ms = 0;                // after the workers started
  int resume_after_ms = -1;     // SIGSTOP: SIGCONT after this long (-1: never)
  int limit = 0;                // nofile: soft RLIMIT_NOFILE
  int restore_after_ms = -1;    // nofile: restore after this long (-1: never)
  // context: the context at this ContextService path ("a", "a/b") reaches
  // the phase fault_at (mid-call:ACTION) and signals itself, or its parent.
  std::string context;
  std::string fault_at;
  bool signal_parent = false;
};

struct error_expectation {
  std::string process = "mux";
  std::string pattern;  // ECMAScript regex over the error line
  int min = 1;
  int max = -1;                // -1: no upper bound
  bool with_warnings = false;  // level = "warning": warning lines count too
};

// How every call of a calls group ends.
struct call_expectation {
  std::string group;
  std::string outcome = "result";  // result, call_error, disconnected, timeout
  std::string reason;              // ECMAScript regex over the call's error; "" = any
  // Each call ends this soon after the last fault before its end (or after
  // its sending); -1: [expect] disconnect_within_ms.
  int within_ms = -1;
  int from_call = 0;  // the calls it judges: seq from_call..to_call of each worker
  int to_call = -1;   // -1: the last
};

// How every worker of a group must end (instead of "nothing lost"):
//  cannot-connect: exit 3 with a connect_failed event naming the path, errno in `errnos`;
//  connected: completed the handshake and kept its connection until the run's end;
//  connection-lost: connected, then saw its connection end (errno in `errnos`: EOF,
//    ECONNRESET...), and ended on its own; a workload's waiters ended with an error;
//  refused-to-listen: a second-mux that exited non-zero without listening, its
//    error naming the path;
//  flushed: at the target's shutdown its stream had output queued, and all of it
//    was written before the stream closed (no errno, nothing dropped);
//  force-closed: at the shutdown its stream had output queued that it did not
//    read; the grace period ended it with an error line naming the stream.
struct outcome_expectation {
  std::string group;
  std::string outcome;
  std::vector<std::string> errnos;  // empty: any
  std::string detail;               // regex the connect_failed detail must match
  // Counts: how many of the group's workers end so. Without any, every
  // worker must; once a group has an entry with counts, each of its workers
  // must end as one of its entries, and each entry's count be within bounds.
  int min = -1;          // -1: no lower bound
  int max = -1;          // -1: no upper bound
  double fraction = -1;  // at least this share of the group (0..1); -1: none
  bool counted() const { return min >= 0 || max >= 0 || fraction >= 0; }
};

struct expectations {
  std::vector<error_expectation> errors;
  std::vector<std::string> allowed_errors;  // regexes of other error lines that are fine
  bool no_unexpected_errors = true;
  std::vector<call_expectation> calls;
  std::vector<std::string> disconnected_groups;  // exactly these groups' streams go
  int disconnect_within_ms = 2000;
  bool listener_alive = true;
  bool nothing_lost = true;
  bool resources = true;
  int max_rss_mib = 512;
  bool faults_fired = true;
  bool clean_exit = true;
  // The scenario ends the target itself (a signal fault): it must be gone
  // before the driver stops it, and a connect after that must fail cleanly.
  bool target_dies = false;
  std::vector<outcome_expectation> outcomes;
  // A scenario of one fault (what `faultmux explore` writes): judged by what
  // a fault of this class may cost ("transient", "hard", "resource") instead
  // of the expectations above; `faulted_peer` is the process it hits
  // ("good:3"), "listener" or "-" (none in particular). "stall" (a bounded
  // SIGSTOP of a worker) must hold up nobody else.
  std::string fault_class;
  std::string faulted_peer;
};

struct scenario {
  std::string file;
  std::string name;
  std::string description;
  std::string origin;
  std::uint64_t seed = 1;
  int timeout_ms = 60000;
  std::vector<std::string> catches;  // legacy bugs it must catch
  target_spec target;
  std::vector<std::string> contexts;  // started up front by the mux's ContextService
  std::vector<worker_group> workers;
  std::vector<fault_spec> faults;
  expectations expect;

  int worker_count() const {
    int n = 0;
    for (const auto& g : workers) n += g.count;
    return n;
  }
};

// A scenario file that cannot be used: "FILE:LINE:COLUMN: what (expected ...)".
class scenario_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Reads and checks a scenario file; throws scenario_error.
scenario load_scenario(const std::string& path);
// The same from text (for tests); `path` names it in errors.
scenario parse_scenario(const std::string& text, const std::string& path);

// Every key a scenario file may hold, as dotted names ("seed", "target.kind",
// "expect.errors.min"): the lists the strict loader checks unknown keys against.
std::vector<std::string> scenario_keys();

// `faultmux validate`: loads each file, prints one line per file (what it
// holds, or the error); 0 when all load, 2 otherwise.
int validate_scenarios(const std::vector<std::string>& files);

const char* workload_name(worker_group::workload_t w);
const char* fault_kind_name(fault_spec::kind_t k);

}  // namespace faultmux
