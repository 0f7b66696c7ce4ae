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
  // A full backlog: by default a worker waits for room for its whole connect
  // timeout, as Mitogen's client does (a blocking connect); >= 0: it waits
  // that long, 0 failing at once with EAGAIN as a client with a socket
  // timeout does.
  int backlog_wait_ms = -1;
  // Where the group connects: "" the target's socket; "missing" a path
  // nothing is bound to; "stale" a socket file bound with nobody listening.
  std::string path;
  // faultmux: `faultmux worker`; mitogen: a real Mitogen 0.3.3 unix client
  // (scenarios/mitogen_worker.py) with the same workload and events.
  enum class client_t { faultmux, mitogen };
  client_t client = client_t::faultmux;
  // uid/user: the worker setuid()s to this user before connecting (-1: no).
  int uid = -1;
  int gid = -1;
  std::string user;  // as given; uid and gid are read from it
};

struct fault_spec {
  enum class kind_t { syscall, signal, nofile, context };
  kind_t kind = kind_t::syscall;
  std::string process = "mux";  // mux, or a worker group
  std::string rule;             // syscall: a shim rule
  std::string in = "mux";       // syscall: the processes the rule is loaded into: mux, workers
  std::string signal;           // signal: SIGKILL, SIGTERM, SIGSTOP, SIGCONT
  bool before_workers = false;  // signal: sent before any worker starts
  int at_ms = 0;                // after the workers started
  int resume_after_ms = -1;     // SIGSTOP: SIGCONT after this long (-1: never)
  // signal: more signals after the first, each gaps_ms[i] after the one before.
  std::vector<std::string> sequence;
  std::vector<int> gaps_ms;
  // signal: a storm, the signal sent storm_hz times a second for storm_ms (0: once).
  int storm_hz = 0;
  int storm_ms = 0;
  int limit = 0;              // nofile: soft RLIMIT_NOFILE
  int restore_after_ms = -1;  // nofile: restore after this long (-1: never)
  // context: the context at this ContextService path ("a", "a/b") reaches
  // the phase fault_at (mid-call:ACTION) and signals itself, or its parent;
  // or it misbehaves as `behave` says (faults/child_behaviour.hpp).
  std::string context;
  std::string fault_at;
  std::string victim = "self";  // context: the context signals itself, or its "parent"
  std::string behave;           // canonical, "linger:3000"
};

struct error_expectation {
  std::string process = "mux";
  std::string pattern;  // ECMAScript regex over the error line
  int min = 1;
  int max = -1;                 // -1: no upper bound
  std::string level = "error";  // "warning": warning lines count too
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
  // TOML `errno` (a macro in C++, so the one field not named as its key); empty: any.
  std::vector<std::string> errnos;
  std::string detail;  // regex the connect_failed detail must match
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
  // What users saw: regexes of the log lines (docs/symptoms.md), and the
  // Mitogen versions that show the failure and the first that fixed it.
  std::vector<std::string> symptoms;
  std::string mitogen_affected = "unknown";
  std::string mitogen_fixed = "unknown";
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

// A scenario file that cannot be used: one line per error, each
// "FILE:LINE:COLUMN: what (expected ...)", in file order.
class scenario_error : public std::runtime_error {
 public:
  explicit scenario_error(const std::string& what) : std::runtime_error(what), lines_{what} {}
  explicit scenario_error(std::vector<std::string> lines)
      : std::runtime_error(join(lines)), lines_(std::move(lines)) {}
  const std::vector<std::string>& lines() const { return lines_; }

 private:
  static std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines) out += (out.empty() ? "" : "\n") + l;
    return out;
  }
  std::vector<std::string> lines_;
};

// Reads and checks a scenario file; throws scenario_error.
scenario load_scenario(const std::string& path);
// The same from text (for tests); `path` names it in errors.
scenario parse_scenario(const std::string& text, const std::string& path);

// Every key a scenario file may hold, as dotted names ("seed", "target.kind",
// "expect.errors.min"): the lists the strict loader checks unknown keys against.
std::vector<std::string> scenario_keys();

// `faultmux validate`: loads each file, prints one line per file (what it
// holds), or one line per error of it; 0 when all load, 2 otherwise.
int validate_scenarios(const std::vector<std::string>& files);

const char* workload_name(worker_group::workload_t w);

// Sets g.client from `client` ("faultmux", "mitogen") and g.uid/g.gid from
// g.uid or g.user (the passwd database); "" when the group can run so, else
// why not (harness/worker_client.cpp).
std::string set_worker_client(worker_group& g, const std::string& client);
const char* fault_kind_name(fault_spec::kind_t k);

}  // namespace faultmux
