// The worker outcomes oracle: how every worker of a group named in
// [[expect.outcomes]] must end, judged from its exit status, its own events
// and the target's record of its stream.
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <regex>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/oracle_support.hpp"
#include "harness/oracles.hpp"
#include "roles/process.hpp"

namespace faultmux {
namespace {

using namespace oracle_support;  // NOLINT(google-build-using-namespace): this file's own helpers

const timeline_event* last_event_of(const run_view& rv, pid_t pid, const char* event) {
  return timeline_index::last(rv.ix.of(pid, event));
}

bool errno_listed(const outcome_expectation& x, const std::string& name) {
  return x.errnos.empty() || std::find(x.errnos.begin(), x.errnos.end(), name) != x.errnos.end();
}

std::string listed(const outcome_expectation& x) {
  return x.errnos.empty() ? std::string("any errno") : fmt::format("{}", fmt::join(x.errnos, "/"));
}

// What one worker's check needs; `seen` is what it saw, for the evidence.
struct worker_check {
  const outcome_expectation& x;
  const worker_group& g;
  const process_record& p;
  const run_view& rv;
  const run_outcome& o;
  std::string& seen;
  // The mux's log read once for every worker of the run, when a check needs it.
  std::optional<std::set<long long>>& force_closed;
  std::string st = status_text(p);
  bool exited = p.status && WIFEXITED(*p.status);
  int code = exited ? WEXITSTATUS(*p.status) : -1;
};

// Each check: "" when the outcome holds, else why not.
std::string check_cannot_connect(const worker_check& w) {
  const timeline_event* f = last_event_of(w.rv, w.p.pid, "connect_failed");
  if (!f) return fmt::format("{}, no connect_failed event", w.st);
  const std::string err = f->str("errno"), detail = f->str("detail"), path = f->str("path");
  w.seen = fmt::format("{}, errno {}: {}", w.st, err, detail);
  if (w.code != 3) return fmt::format("{}, not exit 3 (cannot connect): {}", w.st, detail);
  if (!errno_listed(w.x, err))
    return fmt::format("errno {}, expected {}: {}", err, listed(w.x), detail);
  if (path.empty() || detail.find("cannot connect to " + path) == std::string::npos)
    return fmt::format("the error does not name the path: {}", detail);
  if (!w.x.detail.empty() && !std::regex_search(detail, std::regex(w.x.detail)))
    return fmt::format("the error does not match /{}/: {}", w.x.detail, detail);
  // The worker says so itself, as an error line naming the path.
  const auto& logged = w.rv.ix.of(w.p.pid, "log");
  const bool said = std::any_of(logged.begin(), logged.end(), [&](const timeline_event* e) {
    return is_error_line(*e) &&
           e->str("msg").find("cannot connect to " + path) != std::string::npos;
  });
  if (!said) return fmt::format("no error line of the worker says it cannot connect to {}", path);
  return {};
}

std::string check_connection_lost(const worker_check& w) {
  if (!last_event_of(w.rv, w.p.pid, "connected")) return fmt::format("{}, never connected", w.st);
  const timeline_event* lost = last_event_of(w.rv, w.p.pid, "connection_lost");
  if (!lost)
    return fmt::format("{}, no connection_lost event: it never saw its connection end", w.st);
  const std::string err = lost->str("errno");
  w.seen = fmt::format("{}, connection lost ({})", w.st, err);
  if (!errno_listed(w.x, err))
    return fmt::format("connection lost with {}, expected {}", err, listed(w.x));
  if (!w.exited) return fmt::format("{}: it did not end on its own", w.st);
  const bool has_workload = w.g.workload == worker_group::workload_t::echo ||
                            w.g.workload == worker_group::workload_t::calls;
  if (!has_workload) return w.code == 0 ? std::string() : fmt::format("{}, expected exit 0", w.st);
  // Its waiters ended with an error, so the workload says it failed.
  const timeline_event* failed = last_event_of(w.rv, w.p.pid, "workload_failed");
  int dead = 0;
  for (const timeline_event* e : w.rv.ix.of(w.p.pid, "reply"))
    if (e->str("outcome") == "dead") ++dead;
  for (const timeline_event* e : w.rv.ix.of(w.p.pid, "call"))
    if (e->str("outcome") != "result") ++dead;
  w.seen += fmt::format(", {} waiter(s) ended with an error{}", dead,
                        failed ? ": " + failed->str("why") : std::string());
  if (w.code != 1 || !failed)
    return fmt::format("{}, {}: its workload did not end with an error", w.st,
                       failed ? "workload_failed" : "no workload_failed event");
  return {};
}

// When the driver began its own stop: what ends after it is the run's end.
double run_stop(const run_view& rv) {
  double at = INFINITY;
  for (const timeline_event* e : rv.ix.of_source("driver"))
    if (e->event() == "workers_stop" || e->event() == "mux_stop") at = std::min(at, e->t);
  return at;
}

std::string check_connected(const worker_check& w) {
  const timeline_event* c = last_event_of(w.rv, w.p.pid, "connected");
  if (!c) {
    const timeline_event* f = last_event_of(w.rv, w.p.pid, "connect_failed");
    return f ? fmt::format("{}, never connected: {} ({})", w.st, f->str("detail"), f->str("errno"))
             : fmt::format("{}, never connected", w.st);
  }
  const timeline_event* lost = last_event_of(w.rv, w.p.pid, "connection_lost");
  if (lost && lost->t < run_stop(w.rv))
    return fmt::format("{}, lost its connection ({}) before the run's end", w.st,
                       lost->str("errno"));
  w.seen = fmt::format("{}, connected as context {} and kept its connection", w.st,
                       c->num("context_id"));
  return {};
}

std::string check_refused_to_listen(const worker_check& w) {
  auto it = w.o.stderr_tails.find(w.p.pid);
  const std::string stderr_tail = it == w.o.stderr_tails.end() ? std::string() : it->second;
  std::string tail = stderr_tail;
  std::replace(tail.begin(), tail.end(), '\n', ' ');
  w.seen = fmt::format("{}: {}", w.st, tail.substr(0, 300));
  if (!w.exited || w.code == 0)
    return fmt::format("{}: a second target on a live path must refuse and exit non-zero", w.st);
  if (w.o.socket_path.empty() || stderr_tail.find(w.o.socket_path) == std::string::npos)
    return fmt::format("{}, its error does not name the path {}: {}", w.st, w.o.socket_path,
                       tail.substr(0, 300));
  return {};
}

// The clients whose streams an error line of the mux names as force-closed
// ("stream unix_client.<pid>: ... force-closing"), read from its log once.
std::set<long long> force_closed_in_log(const run_view& rv, const process_record& mux) {
  std::set<long long> out;
  for (const timeline_event* e : rv.ix.of(mux.pid, "log")) {
    if (!is_error_line(*e)) continue;
    const std::string msg = e->str("msg");
    if (msg.find("force-closing") == std::string::npos) continue;
    for (long long pid : numbers_after(msg, "unix_client.")) out.insert(pid);
  }
  return out;
}

// flushed, force-closed: the mux's own record of the client's stream.
std::string check_stream_at_shutdown(const worker_check& w) {
  const std::string stream = fmt::format("unix_client.{}", w.p.pid);
  const timeline_event *at_shutdown = nullptr, *gone = nullptr;
  const process_record* mux = mux_of(w.o);
  for (const timeline_event* e : w.rv.ix.of_stream(stream)) {
    if (!mux || e->pid() != mux->pid) continue;
    if (e->event() == "shutdown_stream" && !at_shutdown) at_shutdown = e;
    if (e->event() == "disconnect" && !gone) gone = e;
  }
  if (!at_shutdown)
    return fmt::format("its stream {} was not open at the target's shutdown", stream);
  const long long queued = at_shutdown->num("queued_bytes", 0);
  if (!gone) return fmt::format("its stream {} never closed", stream);
  const long long dropped = gone->num("dropped_bytes", -1);
  const std::string err = gone->str("errno");
  w.seen = fmt::format(
      "{}: {} bytes queued at the shutdown; closed after {:.3f}s ({}), errno {}, "
      "{} bytes dropped",
      stream, queued, gone->t - at_shutdown->t, gone->str("why"), err.empty() ? "none" : err,
      dropped);
  if (queued <= 0)
    return fmt::format("{}: nothing was queued for it at the shutdown, so no flush was tested",
                       stream);
  if (w.x.outcome == "flushed") {
    if (!err.empty() || dropped != 0)
      return fmt::format("{}: not flushed: errno {}, {} of {} queued bytes dropped", stream, err,
                         dropped, queued);
    return {};
  }
  if (err.empty() || dropped <= 0 || !errno_listed(w.x, err))
    return fmt::format("{}: not force-closed: errno {}, {} bytes dropped", stream,
                       err.empty() ? "none" : err, dropped);
  if (!w.force_closed) w.force_closed = force_closed_in_log(w.rv, *mux);
  if (!w.force_closed->count(w.p.pid))
    return fmt::format("{}: no error line of the target names it as force-closed", stream);
  return {};
}

// One worker's outcome against the expectation: "" when it holds, else why not.
std::string check_outcome(const outcome_expectation& x, const worker_group& g,
                          const process_record& p, const run_view& rv, std::string* seen,
                          std::optional<std::set<long long>>& force_closed) {
  const worker_check w{x, g, p, rv, rv.o, *seen, force_closed};
  if (x.outcome == "cannot-connect") return check_cannot_connect(w);
  if (x.outcome == "connection-lost") return check_connection_lost(w);
  if (x.outcome == "connected") return check_connected(w);
  if (x.outcome == "refused-to-listen") return check_refused_to_listen(w);
  return check_stream_at_shutdown(w);
}

struct outcome_findings {
  std::vector<std::string> bad, ok, na;
  std::optional<std::set<long long>> force_closed;
};

// An expectation this target cannot show: said why in `na`.
bool not_judged_here(const outcome_expectation& x, const run_view& rv,
                     std::vector<std::string>& na) {
  const run_outcome& o = rv.o;
  if (calls_not_served(rv.s, o, x.group)) {
    na.push_back(
        fmt::format("group {} {}: not applicable: its calls need "
                    "faultmux.ContextService, which the {} target does not serve",
                    x.group, x.outcome, o.target_name));
    return true;
  }
  if ((x.outcome == "flushed" || x.outcome == "force-closed") && o.external_target) {
    na.push_back(
        fmt::format("group {} {}: not applicable: the {} target records no stream "
                    "events",
                    x.group, x.outcome, o.target_name));
    return true;
  }
  return false;
}

// "at least 20", "at most 40", "20 to 40", "at least 34% (20)".
std::string bounds_text(const outcome_expectation& x, int lo, int hi) {
  std::string share = x.fraction >= 0 ? fmt::format("{:g}% of the group, ", x.fraction * 100) : "";
  if (hi < 0) return fmt::format("at least {}{}", share, lo);
  if (lo <= 0) return fmt::format("at most {}", hi);
  return lo == hi ? fmt::format("exactly {}", lo) : fmt::format("{}{} to {}", share, lo, hi);
}

// A group with counted entries: each worker ends as one of them, and each
// entry's count is within its bounds.
void counted_group(const std::string& group, const run_view& rv, outcome_findings& f) {
  const scenario& s = rv.s;
  const worker_group* g = group_named(s, group);
  if (!g) return;
  std::vector<const outcome_expectation*> xs;
  for (const auto& x : s.expect.outcomes)
    if (x.group == group && !not_judged_here(x, rv, f.na)) xs.push_back(&x);
  if (xs.empty()) return;
  auto ps = members(rv.o, group);
  std::vector<int> matched(xs.size(), 0);
  for (const process_record* p : ps) {
    std::vector<std::string> whys;
    bool any = false;
    for (std::size_t i = 0; i < xs.size(); ++i) {
      std::string seen;
      std::string why = check_outcome(*xs[i], *g, *p, rv, &seen, f.force_closed);
      if (why.empty() && !any) {
        any = true;
        ++matched[i];
        f.ok.push_back(fmt::format("{} (pid {}) {}: {}", p->name, p->pid, xs[i]->outcome, seen));
      }
      if (!why.empty()) whys.push_back(xs[i]->outcome + ": " + why);
    }
    if (!any)
      f.bad.push_back(fmt::format("{} (pid {}) ended as none of the group's outcomes ({})", p->name,
                                  p->pid, fmt::join(whys, "; ")));
  }
  const int n = static_cast<int>(ps.size());
  for (std::size_t i = 0; i < xs.size(); ++i) {
    const outcome_expectation& x = *xs[i];
    if (!x.counted()) continue;
    int lo = std::max(x.min, 0);
    if (x.fraction >= 0) lo = std::max(lo, static_cast<int>(std::ceil(x.fraction * g->count)));
    const int hi = x.max;
    const bool holds = matched[i] >= lo && (hi < 0 || matched[i] <= hi);
    (holds ? f.ok : f.bad)
        .insert((holds ? f.ok : f.bad).begin(),
                fmt::format("group {}: {} of {} workers {} (expected {})", group, matched[i], n,
                            x.outcome, bounds_text(x, lo, hi)));
  }
}

}  // namespace

namespace oracle_support {

oracle_result outcomes_of(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (s.expect.outcomes.empty()) return make("worker outcomes", verdict::not_applicable);
  outcome_findings f;
  std::set<std::string> counted_groups;
  for (const auto& x : s.expect.outcomes)
    if (x.counted()) counted_groups.insert(x.group);
  for (const auto& x : s.expect.outcomes) {
    if (counted_groups.count(x.group)) continue;  // judged below, as a group
    const worker_group* g = group_named(s, x.group);
    if (!g || not_judged_here(x, rv, f.na)) continue;
    auto ps = members(o, x.group);
    if (ps.empty()) f.bad.push_back(fmt::format("group {}: no worker was started", x.group));
    for (const process_record* p : ps) {
      std::string seen;
      std::string why = check_outcome(x, *g, *p, rv, &seen, f.force_closed);
      if (!why.empty())
        f.bad.push_back(fmt::format("{} (pid {}) is not {}: {}", p->name, p->pid, x.outcome, why));
      else
        f.ok.push_back(fmt::format("{} (pid {}) {}: {}", p->name, p->pid, x.outcome, seen));
    }
  }
  for (const auto& name : counted_groups) counted_group(name, rv, f);
  if (f.bad.empty() && f.ok.empty()) return make("worker outcomes", verdict::not_applicable, f.na);
  oracle_result r = make("worker outcomes", f.bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, f.bad);
  add_capped(r.evidence, f.ok);
  add_capped(r.evidence, f.na);
  return r;
}

}  // namespace oracle_support
}  // namespace faultmux
