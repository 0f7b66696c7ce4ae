// The oracles that demand the mux's own record, in every scenario: an error
// disconnect has its error line, a silent client's handshake ends at its
// deadline with a line, a client of another uid is refused with a line.
#include <unistd.h>

#include <algorithm>
#include <regex>

#include <fmt/format.h>

#include "harness/oracles_log_lines.hpp"

namespace faultmux {
namespace {

using namespace oracle_support;  // NOLINT(google-build-using-namespace): this file's own helpers

// A disconnect caused by a failed system call: why is "<call> failed" (recv,
// send). The others (EOF, a protocol error, the output cap, the shutdown
// grace) carry an errno of the mux's choosing and a line of their own.
bool syscall_failure(const std::string& why) {
  static const std::regex re("^[a-z_]+ failed$");
  return std::regex_match(why, re);
}

// An error line of process `pid` that names `stream` (and `errno_name`
// when given), from a little before the disconnect to a little after.
bool logged(const run_view& rv, const timeline_event& d, const std::string& errno_name) {
  const std::string stream = d.str("stream");
  for (const timeline_event* e : rv.ix.of(d.pid(), "log")) {
    if (!is_error_line(*e) || e->t > d.t + 0.5) continue;
    const std::string msg = e->str("msg");
    if (msg.find(stream) == std::string::npos) continue;
    if (!errno_name.empty() && msg.find(errno_name) == std::string::npos) continue;
    if (e->t >= d.t - 5) return true;
  }
  return false;
}

// How long past its deadline a handshake may end: the mux's timers and a
// loaded machine's scheduling.
constexpr double handshake_slack_s = 0.5;

// A client's handshake the mux ended (handshake_failed names the client's pid).
const timeline_event* handshake_end(const run_view& rv, pid_t client) {
  for (const timeline_event* e : rv.ix.of_pid(client))
    if (e->event() == "handshake_failed" && e->str("role") == "mux") return e;
  return nullptr;
}

bool line_names_pid(const run_view& rv, pid_t pid, const char* what) {
  const process_record* mux = mux_of(rv.o);
  if (!mux) return false;
  for (const timeline_event* e : rv.ix.of(mux->pid, "log"))
    if (is_error_line(*e) && numbers_after(e->str("msg"), "PID ").count(pid) &&
        e->str("msg").find(what) != std::string::npos)
      return true;
  return false;
}

// One silent ("stall") client: its handshake ended at the deadline, with a
// line; or it left first. `bad` gets why not.
void judge_stall(const run_view& rv, const process_record& p, double timeout_s,
                 std::vector<std::string>& bad, int& judged) {
  const timeline_event* connected = nullptr;
  for (const timeline_event* e : rv.ix.of(p.pid, "hostile"))
    if (e->str("step") == "did" && e->str("what") == "connected") connected = e;
  if (!connected) return;  // it never got a connection: nothing to time out
  // The client says it connected once connect() returned: the mux's clock
  // started no later (a late bound), and no earlier than the driver started
  // the client (an early bound).
  const double deadline = connected->t + timeout_s;
  double started = connected->t;
  for (const timeline_event* e : rv.ix.named("spawn"))
    if (e->source == "driver" && e->str("name") == p.name) started = e->t;
  const timeline_event* end = handshake_end(rv, p.pid);
  const timeline_event* done = timeline_index::first(rv.ix.of(p.pid, "hostile_done"));
  ++judged;
  if (!end) {
    if (!done || done->t > deadline + handshake_slack_s)
      bad.push_back(
          fmt::format("{} (pid {}): connected at +{:.3f}s and said nothing; the mux "
                      "never ended its handshake (deadline +{:.3f}s)",
                      p.name, p.pid, connected->t - rv.t0, deadline - rv.t0));
    return;
  }
  const std::string err = end->str("errno");
  if (end->t > deadline + handshake_slack_s) {
    bad.push_back(fmt::format(
        "{} (pid {}): its handshake ended ({}) {:.0f} ms after it connected, past the {:.0f} ms "
        "deadline and {:.0f} ms slack",
        p.name, p.pid, err, (end->t - connected->t) * 1000, timeout_s * 1000,
        handshake_slack_s * 1000));
  } else if (err == "ETIMEDOUT" && end->t < started + timeout_s) {
    bad.push_back(
        fmt::format("{} (pid {}): timed out {:.0f} ms after it was started, before the "
                    "{:.0f} ms deadline",
                    p.name, p.pid, (end->t - started) * 1000, timeout_s * 1000));
  } else if (err == "ETIMEDOUT" && !line_names_pid(rv, p.pid, "timed out")) {
    bad.push_back(
        fmt::format("{} (pid {}): its handshake timed out with no error line of the "
                    "mux naming PID {} and the timeout",
                    p.name, p.pid, p.pid));
  }
}

// Pass saying `pass_note` when nothing is bad, else fail listing what is.
oracle_result pass_unless(const char* name, const std::vector<std::string>& bad,
                          std::string pass_note) {
  if (bad.empty()) return make(name, verdict::pass, {std::move(pass_note)});
  oracle_result r = make(name, verdict::fail);
  add_capped(r.evidence, bad);
  return r;
}

}  // namespace

namespace oracle_support {

oracle_result error_disconnects_logged(const run_view& rv) {
  const run_outcome& o = rv.o;
  const char* name = "error disconnects logged";
  if (o.external_target) return make(name, verdict::not_applicable);
  std::vector<std::string> bad;
  int judged = 0;
  for (const timeline_event* d : rv.ix.named("disconnect")) {
    const std::string role = d->str("role"), err = d->str("errno");
    if ((role != "mux" && role != "context") || err.empty()) continue;
    ++judged;
    const bool syscall = syscall_failure(d->str("why"));
    if (!logged(rv, *d, syscall ? err : std::string()))
      bad.push_back(fmt::format(
          "+{:.3f}s {} (pid {}): stream {} disconnected ({}, {}) with no error line naming the "
          "stream{}",
          d->t - rv.t0, role, d->pid(), d->str("stream"), err, d->str("why"),
          syscall ? " and " + err : ""));
  }
  if (judged == 0) return make(name, verdict::pass, {"no stream disconnected with an error"});
  return pass_unless(name, bad,
                     fmt::format("{} error disconnect(s), each with its error line", judged));
}

oracle_result handshake_deadlines(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  const char* name = "handshake deadlines";
  if (o.external_target) return make(name, verdict::not_applicable);
  const double timeout_s = s.target.handshake_timeout_ms / 1000.0;
  std::vector<std::string> bad;
  int judged = 0;
  for (const auto& g : s.workers) {
    if (g.workload != worker_group::workload_t::hostile || g.behave != "stall") continue;
    for (const process_record* p : members(o, g.name)) judge_stall(rv, *p, timeout_s, bad, judged);
  }
  if (judged == 0) return make(name, verdict::not_applicable);
  return pass_unless(
      name, bad,
      fmt::format("{} silent client(s): each ended by its {} ms deadline (slack {:.0f} ms) with a "
                  "line, or left first",
                  judged, s.target.handshake_timeout_ms, handshake_slack_s * 1000));
}

oracle_result other_uid_refused(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  const char* name = "other uid refused";
  std::vector<std::string> bad, ok;
  for (const auto& g : s.workers) {
    if (g.uid < 0) continue;
    if (::geteuid() != 0)
      return make(name, verdict::not_applicable,
                  {fmt::format("not root: faultmux runs as uid {}, so group {} cannot be started "
                               "as uid {}; run as root to judge the mux's uid check",
                               ::geteuid(), g.name, g.uid)});
    for (const process_record* p : members(o, g.name)) {
      const timeline_event* end = handshake_end(rv, p->pid);
      const timeline_event* in = timeline_index::first(rv.ix.of(p->pid, "connected"));
      if (in || !end || end->str("why") != "uid mismatch")
        bad.push_back(
            fmt::format("{} (pid {}, uid {}): {}", p->name, p->pid, g.uid,
                        in ? fmt::format("the mux gave it context {}", in->num("context_id"))
                           : "the mux did not refuse it for its uid"));
      else if (!line_names_pid(rv, p->pid, fmt::format("uid {}", g.uid).c_str()))
        bad.push_back(
            fmt::format("{} (pid {}): refused with no error line of the mux naming PID "
                        "{} and uid {}",
                        p->name, p->pid, p->pid, g.uid));
      else
        ok.push_back(
            fmt::format("{} (pid {}, uid {}): refused, with its line", p->name, p->pid, g.uid));
    }
  }
  if (bad.empty() && ok.empty()) return make(name, verdict::not_applicable);
  oracle_result r = make(name, bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, bad);
  add_capped(r.evidence, ok);
  return r;
}

}  // namespace oracle_support
}  // namespace faultmux
