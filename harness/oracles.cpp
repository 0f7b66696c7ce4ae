#include "harness/oracles.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <limits>
#include <map>
#include <regex>
#include <set>

#include <fmt/format.h>

#include "faults/signal_fault.hpp"
#include "harness/oracle_support.hpp"
#include "harness/oracles_log_lines.hpp"
#include "roles/process.hpp"

namespace faultmux {

namespace {

using namespace oracle_support;  // NOLINT(google-build-using-namespace): this file's own helpers

// A mux line about a client with one of these pids: its stream, or its handshake.
template <class Pids>
bool about_any_client(const std::string& msg, const Pids& pids) {
  for (const char* prefix : {"unix_client.", "PID "})
    for (long long n : numbers_after(msg, prefix))
      if (pids.count(static_cast<pid_t>(n))) return true;
  return false;
}

bool line_of(const run_view& r, const timeline_event& e, const std::string& process) {
  if (process == "mux") {
    const process_record* m = mux_of(r.o);
    return m && e.pid() == m->pid;
  }
  const process_record* p = r.process(e.pid());
  return p && p->group == process;
}

std::string describe_line(const timeline_event& e, double t0) {
  return fmt::format("+{:.3f}s {} (pid {}): {}", e.t - t0, e.source, e.pid(), e.str("msg"));
}

// What a hostile worker said it saw: its hostile_done outcome.
std::string hostile_outcome(const run_view& r, pid_t pid) {
  const timeline_event* e = timeline_index::first(r.ix.of(pid, "hostile_done"));
  return e ? e->str("outcome") : "no hostile_done event";
}

bool is_warning_line(const timeline_event& e) {
  return e.event() == "log" && e.str("level") == "warning";
}

}  // namespace

bool group_is_faulted(const scenario& s, const std::string& group) {
  const worker_group* g = group_named(s, group);
  if (!g) return false;
  // A group of another uid is meant to be refused (the other-uid oracle judges it).
  if (g->workload == worker_group::workload_t::hostile || !g->fault_at.empty() || g->uid >= 0)
    return true;
  // Its calls are meant to fail, as the calls oracle judges, or its
  // workers are meant to end in an outcome of their own.
  if (std::any_of(
          s.expect.calls.begin(), s.expect.calls.end(),
          [&](const call_expectation& c) { return c.group == group && c.outcome != "result"; }) ||
      std::any_of(s.expect.outcomes.begin(), s.expect.outcomes.end(),
                  [&](const outcome_expectation& x) { return x.group == group; }))
    return true;
  return std::any_of(s.faults.begin(), s.faults.end(), [&](const fault_spec& f) {
    return f.kind == fault_spec::kind_t::signal && f.process == group;
  });
}

namespace {

oracle_result finished(const scenario& s, const timeline&, const run_outcome& o) {
  if (o.hang.empty()) return make("finished", verdict::pass);
  std::vector<std::string> ev{fmt::format("still running after the {} ms timeout:", s.timeout_ms)};
  ev.insert(ev.end(), o.hang.begin(), o.hang.end());
  return make("finished", verdict::fail, std::move(ev));
}

oracle_result errors_logged(const run_view& rv) {
  const scenario& s = rv.s;
  if (s.expect.errors.empty()) return make("errors logged", verdict::not_applicable);
  oracle_result r = make("errors logged", verdict::pass);
  std::vector<std::string> failed, held;
  std::size_t unserved = 0;
  for (const auto& x : s.expect.errors) {
    // Lines of calls the target does not serve, or the mux's when no group
    // is served: what they would record never happened there.
    if (calls_not_served(s, rv.o, x.process) || (x.process == "mux" && no_group_served(s, rv.o))) {
      held.push_back(
          fmt::format("{}: /{}/: not applicable: the calls need "
                      "faultmux.ContextService, which the {} target does not serve",
                      x.process, x.pattern, rv.o.target_name));
      ++unserved;
      continue;
    }
    std::regex re(x.pattern);
    std::vector<std::string> lines;
    for (const timeline_event* e : rv.ix.named("log"))
      if ((is_error_line(*e) || (x.level == "warning" && is_warning_line(*e))) &&
          line_of(rv, *e, x.process) && std::regex_search(e->str("msg"), re))
        lines.push_back(describe_line(*e, rv.t0));
    const int n = static_cast<int>(lines.size());
    const bool ok = n >= x.min && (x.max < 0 || n <= x.max);
    std::string want = x.max < 0 ? fmt::format("at least {}", x.min)
                                 : (x.min == x.max ? fmt::format("{}", x.min)
                                                   : fmt::format("{} to {}", x.min, x.max));
    // The failing expectations first: the one-line summary shows the first line.
    auto& block = ok ? held : failed;
    block.push_back(fmt::format("{}: {} {} line(s) match /{}/, expected {}", x.process, n,
                                x.level == "warning" ? "warning or error" : "error", x.pattern,
                                want));
    if (!ok) r.v = verdict::fail;
    for (std::size_t i = 0; i < lines.size() && i < 3; ++i) block.push_back("  " + lines[i]);
  }
  if (unserved == s.expect.errors.size()) r.v = verdict::not_applicable;
  r.evidence = std::move(failed);
  r.evidence.insert(r.evidence.end(), held.begin(), held.end());
  return r;
}

// Processes whose own error lines, and the mux's about their streams, no
// expectation needs to explain; `hit_streams` gets the streams of contexts a
// context fault hits.
std::set<pid_t> excused_pids(const run_view& rv, std::vector<std::string>& hit_streams) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  std::set<pid_t> faulted;
  for (const auto& p : o.processes)
    if (!p.group.empty() && (group_is_faulted(s, p.group) || calls_not_served(s, o, p.group)))
      faulted.insert(p.pid);
  // The probe clients close as soon as their round trip is done: whatever the
  // mux still had for them is its own business, not the scenario's.
  if (o.probe_pid > 0) faulted.insert(o.probe_pid);
  // Contexts a context fault hits (the one at its path, and its parent when
  // that is the victim): their own lines, and their parents' about their streams.
  std::set<std::string> hit;
  for (const auto& f : s.faults) {
    if (f.kind != fault_spec::kind_t::context) continue;
    std::string path = f.context;
    for (int n = f.victim == "parent" ? 2 : 1; n > 0 && !path.empty(); --n) {
      auto slash = path.rfind('/');
      hit.insert(path.substr(slash == std::string::npos ? 0 : slash + 1));
      path = slash == std::string::npos ? std::string() : path.substr(0, slash);
    }
  }
  for (const timeline_event* e : rv.ix.named("context_ready"))
    if (hit.count(e->str("context"))) faulted.insert(static_cast<pid_t>(e->num("child_pid")));
  for (const auto& name : hit) hit_streams.push_back(fmt::format("stream {}:", name));
  return faulted;
}

oracle_result no_unexpected_errors(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (!s.expect.no_unexpected_errors) return make("no unexpected errors", verdict::not_applicable);
  std::vector<std::pair<std::string, std::regex>> expected;
  for (const auto& x : s.expect.errors) expected.emplace_back(x.process, std::regex(x.pattern));
  std::vector<std::regex> allowed;
  for (const auto& a : s.expect.allowed_errors) allowed.emplace_back(a);
  std::vector<std::string> hit_streams;
  const std::set<pid_t> faulted = excused_pids(rv, hit_streams);

  // From the driver's workers_stop on, the workers leave at once (as at the
  // end of a real run): what the mux still had queued for one of them is the
  // teardown's, not the scenario's, like the probe's.
  double workers_stop = std::numeric_limits<double>::infinity();
  for (const timeline_event* e : rv.ix.named("workers_stop"))
    if (e->source == "driver") workers_stop = std::min(workers_stop, e->t);
  std::set<pid_t> workers;
  for (const auto& p : o.processes)
    if (!p.group.empty()) workers.insert(p.pid);

  std::vector<std::string> unexpected;
  for (const timeline_event* line : rv.ix.named("log")) {
    const timeline_event& e = *line;
    if (!is_error_line(e)) continue;
    const std::string msg = e.str("msg");
    if (e.t >= workers_stop && line_of(rv, e, "mux") && about_any_client(msg, workers)) continue;
    if (std::any_of(expected.begin(), expected.end(), [&](const auto& x) {
          return line_of(rv, e, x.first) && std::regex_search(msg, x.second);
        }))
      continue;
    if (std::any_of(allowed.begin(), allowed.end(),
                    [&](const std::regex& re) { return std::regex_search(msg, re); }))
      continue;
    // A faulted worker's own lines, and the mux's lines about its stream.
    if (faulted.count(e.pid()) || about_any_client(msg, faulted)) continue;
    if (std::any_of(hit_streams.begin(), hit_streams.end(),
                    [&](const std::string& st) { return msg.find(st) != std::string::npos; }))
      continue;
    unexpected.push_back(describe_line(e, rv.t0));
  }
  if (unexpected.empty()) return make("no unexpected errors", verdict::pass);
  oracle_result r =
      make("no unexpected errors", verdict::fail,
           {fmt::format("{} error line(s) no expectation explains:", unexpected.size())});
  add_capped(r.evidence, unexpected);
  return r;
}

oracle_result nothing_lost(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (!s.expect.nothing_lost) return make("nothing lost", verdict::not_applicable);
  std::vector<std::string> bad, skipped;
  int checked = 0;
  for (const auto& g : s.workers) {
    if (g.workload == worker_group::workload_t::hostile) {
      // A hostile worker's exit 1 says the mux reacted wrongly to it
      // (faults/README.md): a lost answer, not the worker's own fault.
      for (const process_record* p : members(o, g.name)) {
        ++checked;
        if (p->status && WIFEXITED(*p->status) && WEXITSTATUS(*p->status) == 1)
          bad.push_back(fmt::format("{} (pid {}, {}): exit 1, the mux reacted wrongly: {}", p->name,
                                    p->pid, g.behave, hostile_outcome(rv, p->pid)));
      }
      continue;
    }
    if (group_is_faulted(s, g.name)) continue;
    if (o.external_target && g.workload == worker_group::workload_t::calls) {
      skipped.push_back(fmt::format(
          "group {}: not applicable: its calls need faultmux.ContextService, which the {} "
          "target does not serve",
          g.name, o.target_name));
      continue;
    }
    const bool has_workload = g.workload == worker_group::workload_t::echo ||
                              g.workload == worker_group::workload_t::calls;
    for (const process_record* p : members(o, g.name)) {
      ++checked;
      if (!p->status || !WIFEXITED(*p->status) || WEXITSTATUS(*p->status) != 0)
        bad.push_back(fmt::format("{} (pid {}): {}", p->name, p->pid, status_text(*p)));
      const char* needed = has_workload ? "workload_done" : "connected";
      const timeline_event* found = timeline_index::last(rv.ix.of(p->pid, needed));
      if (!found) {
        bad.push_back(fmt::format("{} (pid {}): no {} event", p->name, p->pid, needed));
      } else if (has_workload && found->num("failed", 0) != 0) {
        bad.push_back(fmt::format("{} (pid {}): workload_done failed={} ok={} of {}", p->name,
                                  p->pid, found->num("failed", 0), found->num("ok", 0),
                                  found->num("count", 0)));
      }
    }
  }
  if (checked == 0) return make("nothing lost", verdict::not_applicable, skipped);
  if (bad.empty()) {
    oracle_result r = make("nothing lost", verdict::pass,
                           {fmt::format("{} unaffected workers completed", checked)});
    add_capped(r.evidence, skipped);
    return r;
  }
  oracle_result r = make("nothing lost", verdict::fail);
  add_capped(r.evidence, bad);
  add_capped(r.evidence, skipped);
  return r;
}

// What the listener oracles judge by: the probe, which no syscall rule
// touches unless it names it.
std::string probe_note(const scenario& s) {
  for (const auto& f : s.faults)
    if (f.kind == fault_spec::kind_t::syscall && f.in == "mux" &&
        f.rule.find("peer=probe") != std::string::npos)
      return "judged by the harness's probe (peer=probe), which this scenario's rule '" + f.rule +
             "' faults on purpose";
  return "judged by the harness's probe (peer=probe), which no syscall rule of this scenario "
         "faults (a rule reaches it only with peer=probe)";
}

oracle_result listener_alive(const scenario& s, const timeline&, const run_outcome& o) {
  if (s.expect.target_dies) {
    // The target was to die: a client after that must fail at once and
    // cleanly (nobody listens: ECONNREFUSED; the file is gone: ENOENT).
    const bool clean = !o.probe_ok && (o.probe_errno == ECONNREFUSED || o.probe_errno == ENOENT);
    std::vector<std::string> ev{o.probe_detail};
    if (o.probe_ok)
      ev.insert(ev.begin(),
                "the listener still answers, although the target was to die "
                "(expect.target_dies)");
    else if (!clean)
      ev.insert(ev.begin(),
                "a connect after the target's death did not fail cleanly with "
                "ECONNREFUSED or ENOENT");
    ev.push_back(probe_note(s));
    return make("listener gone", clean ? verdict::pass : verdict::fail, std::move(ev));
  }
  if (!s.expect.listener_alive) return make("listener alive", verdict::not_applicable);
  return make("listener alive", o.probe_ok ? verdict::pass : verdict::fail,
              {o.probe_detail, probe_note(s)});
}

// An oracle's evidence: what held, and what did not.
struct findings {
  std::vector<std::string> ok, bad;
  void add(bool held, std::string line) { (held ? ok : bad).push_back(std::move(line)); }
};

// Syscall rules go to the shim in scenario order, numbered from 1.
// `rule` is its number among the rules of the processes it is loaded into:
// the mux's, or the workers' (role "worker").
void syscall_fired(const fault_spec& f, int rule, const run_view& rv, findings& ev) {
  if (f.in == "mux" && no_group_served(rv.s, rv.o)) {
    ev.ok.push_back(fmt::format(
        "syscall fault '{}': not applicable: every group's calls need faultmux.ContextService, "
        "which the {} target does not serve",
        f.rule, rv.o.target_name));
    return;
  }
  int n = 0;
  for (const timeline_event* e : rv.ix.named("fault"))
    if (e->source == "faults" && e->num("rule") == rule &&
        (e->str("role") == "worker") == (f.in == "workers"))
      ++n;
  ev.add(n > 0, fmt::format("syscall fault '{}' fired {} time(s)", f.rule, n));
}

// Recorded by the context itself; it is known by the name its parent started
// it with, the last part of its path.
void context_fired(const fault_spec& f, std::size_t i, const run_view& rv, findings& ev) {
  const run_outcome& o = rv.o;
  const std::string leaf = f.context.substr(f.context.rfind('/') + 1);
  // A context that misbehaves at its start may never be ready: its parent's
  // child_start names it too.
  std::set<pid_t> pids;
  for (const timeline_event* e : rv.ix.named("context_ready"))
    if (e->str("context") == leaf) pids.insert(static_cast<pid_t>(e->num("child_pid")));
  for (const timeline_event* e : rv.ix.named("child_start"))
    if (e->str("child") == leaf) pids.insert(static_cast<pid_t>(e->num("child_pid")));
  const char* kind = f.behave.empty() ? "phase" : "behaviour";
  int n = 0;
  for (pid_t pid : pids)
    for (const timeline_event* e : rv.ix.of(pid, "fault"))
      if (e->str("kind") == kind) ++n;
  std::string what = fmt::format("context fault #{} ({} in context {}{})", i + 1,
                                 f.behave.empty() ? f.fault_at : "behaviour " + f.behave, f.context,
                                 f.victim == "parent" ? ", to its parent" : "");
  if (o.external_target)
    ev.ok.push_back(fmt::format("{}: not applicable: the {} target starts no faultmux contexts",
                                what, o.target_name));
  else
    ev.add(n > 0, fmt::format("{}: fired {} time(s)", what, n));
}

// A signal or nofile fault, applied by the driver.
void driver_fault_applied(std::size_t i, const run_view& rv, findings& ev) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  const fault_spec& f = s.faults[i];
  const char* kind = f.kind == fault_spec::kind_t::signal ? "signal" : "nofile";
  if (f.process != "mux" && calls_not_served(s, o, f.process)) {
    ev.ok.push_back(
        fmt::format("{} fault #{} ({} to {}): not applicable: its calls need "
                    "faultmux.ContextService, which the {} target does not serve",
                    kind, i + 1, f.signal, f.process, o.target_name));
    return;
  }
  int n = 0;
  for (const timeline_event* e : rv.ix.named("fault"))
    if (e->source == "driver" && e->str("kind") == kind &&
        e->num("fault") == static_cast<long long>(i))
      ++n;
  std::string what = f.kind == fault_spec::kind_t::signal
                         ? fmt::format("{} to {}", f.signal, f.process)
                         : fmt::format("RLIMIT_NOFILE {} on the mux", f.limit);
  ev.add(n > 0, fmt::format("{} fault #{} ({}): applied {} time(s)", kind, i + 1, what, n));
}

// Hostile groups ran their behaviour; fault_at groups reached their phase.
void group_faults_fired(const worker_group& g, const run_view& rv, findings& ev) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (g.workload == worker_group::workload_t::hostile) {
    for (const process_record* p : members(o, g.name)) {
      const bool ran = !rv.ix.of(p->pid, "hostile_done").empty();
      if (!ran)
        ev.bad.push_back(fmt::format("hostile {} (pid {}, {}) did not finish its behaviour {}",
                                     p->name, p->pid, status_text(*p), g.behave));
    }
    ev.ok.push_back(fmt::format("hostile group {} ({}) ran", g.name, g.behave));
  }
  if (g.fault_at.empty()) return;
  if (calls_not_served(s, o, g.name)) {
    ev.ok.push_back(
        fmt::format("group {} fault_at {}: not applicable: its calls need "
                    "faultmux.ContextService, which the {} target does not serve",
                    g.name, g.fault_at, o.target_name));
    return;
  }
  int n = 0;
  for (const process_record* p : members(o, g.name))
    for (const timeline_event* e : rv.ix.of(p->pid, "fault"))
      if (e->str("kind") == "phase") ++n;
  ev.add(n > 0, fmt::format("group {} fault_at {} fired in {} worker(s)", g.name, g.fault_at, n));
}

oracle_result faults_fired(const run_view& rv) {
  const scenario& s = rv.s;
  if (!s.expect.faults_fired) return make("faults fired", verdict::not_applicable);
  findings ev;
  int syscall_rule = 0, worker_rule = 0;
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const fault_spec& f = s.faults[i];
    if (f.kind == fault_spec::kind_t::syscall)
      syscall_fired(f, f.in == "workers" ? ++worker_rule : ++syscall_rule, rv, ev);
    else if (f.kind == fault_spec::kind_t::context)
      context_fired(f, i, rv, ev);
    else
      driver_fault_applied(i, rv, ev);
  }
  for (const auto& g : s.workers) group_faults_fired(g, rv, ev);
  if (ev.ok.empty() && ev.bad.empty()) return make("faults fired", verdict::not_applicable);
  oracle_result r = make("faults fired", ev.bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, ev.bad);
  add_capped(r.evidence, ev.ok);
  return r;
}

oracle_result disconnected_groups(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  // Which stream went, and when, is only in faultmux's mux's "disconnect"
  // and "handshake_failed" events; an external target logs a disconnect at
  // debug level, without the why, if at all.
  if (o.external_target)
    return make("disconnected groups", verdict::not_applicable,
                {fmt::format("not applicable: the {} target records no per-stream disconnect "
                             "events (faultmux's mux emits 'disconnect' and 'handshake_failed')",
                             o.target_name)});
  const double t0 = rv.t0;
  // Where each client's connection went at the mux, by pid.
  const process_record* mux = mux_of(o);
  std::map<pid_t, const timeline_event*> gone;
  double mux_stop = std::numeric_limits<double>::infinity();
  // The driver stops the workers, then the mux: either ends a serve workload.
  for (const timeline_event* e : rv.ix.of_source("driver"))
    if (e->event() == "mux_stop" || e->event() == "workers_stop")
      mux_stop = std::min(mux_stop, e->t);
  for (const timeline_event* ep : rv.ix.of_source("mux")) {
    const timeline_event& e = *ep;
    // Not by pid: handshake_failed's own "pid" field is the client's.
    if (!mux || e.str("role") != "mux") continue;
    pid_t client = -1;
    if (e.event() == "disconnect") {
      std::string stream = e.str("stream");
      const std::string prefix = "unix_client.";
      if (stream.rfind(prefix, 0) == 0) client = std::atoi(stream.c_str() + prefix.size());
    } else if (e.event() == "handshake_failed") {
      client = static_cast<pid_t>(e.num("pid"));
    }
    if (client > 0 && !gone.count(client)) gone[client] = &e;
  }
  std::vector<std::string> bad, ok;
  const auto& named = s.expect.disconnected_groups;
  for (const auto& g : s.workers) {
    // A second mux connects only to see whether the path is live; the
    // worker outcomes oracle judges it.
    if (g.workload == worker_group::workload_t::second_mux) continue;
    // Nor does a client of another uid get a stream: the other-uid oracle judges it.
    if (g.uid >= 0) continue;
    const bool expected = std::find(named.begin(), named.end(), g.name) != named.end();
    for (const process_record* p : members(o, g.name)) {
      auto it = gone.find(p->pid);
      if (expected) {
        if (it == gone.end())
          bad.push_back(
              fmt::format("{} (pid {}): its connection never went at the mux", p->name, p->pid));
        continue;
      }
      if (it == gone.end()) continue;
      // Before its workload ended: before its workload_done (a hostile
      // worker's hostile_done: it closes when its behaviour is done), or for
      // a worker that only serves, before the driver stopped the mux.
      double end = mux_stop;
      for (const char* done : {"workload_done", "hostile_done"})
        if (const timeline_event* e = timeline_index::first(rv.ix.of(p->pid, done)))
          end = std::min(end, e->t);
      // A handshake that failed is a worker that never connected, not one disconnected.
      const bool never = it->second->event() == "handshake_failed";
      if (it->second->t < end)
        bad.push_back(fmt::format(
            "{} (pid {}, group {} not in disconnected_groups): {} at +{:.3f}s{}{}", p->name, p->pid,
            g.name, never ? "never connected: its handshake failed" : "disconnect",
            it->second->t - t0, never ? "" : " before its workload ended",
            it->second->str("why").empty() ? "" : " (" + it->second->str("why") + ")"));
    }
    if (expected) ok.push_back(fmt::format("group {}: every connection went", g.name));
  }
  oracle_result r = make("disconnected groups", bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, bad);
  add_capped(r.evidence, ok);
  return r;
}

// One [[expect.calls]] entry being judged.
struct calls_check {
  const scenario& s;
  const call_expectation& c;
  const worker_group* g;
  const timeline_index& ix;
  const std::vector<double>& fault_times;  // when each injected fault hit
  double t0 = 0;
  int within = 0;  // ms
  std::regex re;
  std::string want;  // "call_error /reason/"
  int matched = 0;
  double slowest = 0;
  std::string example;  // the first call that ended as expected
};

// The calls of process p the expectation judges; a count that is not what
// the group's messages say is a failure of its own.
std::vector<const timeline_event*> judged_calls(const calls_check& k, const process_record& p,
                                                std::vector<std::string>& bad) {
  const call_expectation& c = k.c;
  std::vector<const timeline_event*> calls;
  const int last =
      k.g ? (c.to_call >= 0 ? std::min(c.to_call, k.g->messages - 1) : k.g->messages - 1) : -1;
  // An echo workload's failed replies: "reply" events, a dead one its "disconnected".
  const bool echo = k.g && k.g->workload == worker_group::workload_t::echo;
  const char* event = echo ? "reply" : "call";
  for (const timeline_event* e : k.ix.of(p.pid, event))
    if (e->num("seq") >= c.from_call && e->num("seq") <= last) calls.push_back(e);
  const int expected = last - c.from_call + 1;
  if (k.g && static_cast<int>(calls.size()) != expected) {
    std::string why;
    if (const timeline_event* e = timeline_index::last(k.ix.of(p.pid, "workload_failed")))
      why = ": " + e->str("why");
    bad.push_back(fmt::format("{} (pid {}): {} of its {} calls {}..{} ended{}", p.name, p.pid,
                              calls.size(), expected, c.from_call, last, why));
  }
  return calls;
}

// One call: its outcome, its reason and how long after the last fault before
// its end (or its sending) it ended.
void judge_call(calls_check& k, const process_record& p, const timeline_event& e,
                std::vector<std::string>& bad) {
  const bool echo = k.g && k.g->workload == worker_group::workload_t::echo;
  std::string outcome = e.str("outcome");
  const std::string error = e.str("error");
  if (echo && outcome == "dead") outcome = "disconnected";
  const double end = e.t, sent = end - e.real("ms", 0.0) / 1000;
  double from = sent;
  for (double f : k.fault_times)
    if (f <= end && f > from) from = f;
  const double took = (end - from) * 1000;
  const std::string call =
      fmt::format("+{:.3f}s {} (pid {}) call {}", end - k.t0, p.name, p.pid, e.num("seq"));
  if (outcome != k.c.outcome) {
    bad.push_back(fmt::format("{} ended {}{}, expected {}", call, outcome,
                              error.empty() ? "" : ": " + error, k.want));
  } else if (!k.c.reason.empty() && !std::regex_search(error, k.re)) {
    bad.push_back(fmt::format("{} ended {} with {:?}, expected {}", call, outcome, error, k.want));
  } else if (took > k.within) {
    bad.push_back(fmt::format("{} ended {} {:.0f} ms after {}, over the {} ms bound", call, outcome,
                              took, from > sent ? "a fault" : "it was sent", k.within));
  } else {
    ++k.matched;
    k.slowest = std::max(k.slowest, took);
    if (k.example.empty())
      k.example =
          fmt::format("  {} ended {} {:.1f} ms after {}{}", call, outcome, took,
                      from > sent ? "the fault" : "it was sent", error.empty() ? "" : ": " + error);
  }
}

void judge_calls_of_group(calls_check& k, const run_outcome& o, findings& ev) {
  const call_expectation& c = k.c;
  k.within = c.within_ms >= 0 ? c.within_ms : k.s.expect.disconnect_within_ms;
  k.re = std::regex(c.reason);
  k.want = c.outcome + (c.reason.empty() ? std::string() : fmt::format(" /{}/", c.reason));
  const std::string which =
      c.from_call == 0 && c.to_call < 0
          ? std::string()
          : fmt::format(" (calls {}..{})", c.from_call,
                        c.to_call < 0 ? std::string("last") : std::to_string(c.to_call));
  for (const process_record* p : members(o, c.group))
    for (const timeline_event* e : judged_calls(k, *p, ev.bad)) judge_call(k, *p, *e, ev.bad);
  ev.ok.push_back(fmt::format("group {}{}: {} call(s) ended {} within {} ms (slowest {:.1f} ms)",
                              c.group, which, k.matched, k.want, k.within, k.slowest));
  if (!k.example.empty()) ev.ok.push_back(k.example);
}

oracle_result calls(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (s.expect.calls.empty()) return make("call outcomes", verdict::not_applicable);
  std::vector<std::string> skipped;
  // When each injected fault hit: a call's bound runs from the last one
  // before its end, or from its sending when none came after it.
  std::vector<double> fault_times;
  for (const timeline_event* e : rv.ix.named("fault")) fault_times.push_back(e->t);
  findings ev;
  for (const auto& c : s.expect.calls) {
    if (calls_not_served(s, o, c.group)) {
      skipped.push_back(fmt::format(
          "group {}: not applicable: its calls need faultmux.ContextService, which the {} target "
          "does not serve",
          c.group, o.target_name));
      continue;
    }
    calls_check k{s, c, group_named(s, c.group), rv.ix, fault_times, rv.t0, 0, {}, {}, 0, 0, {}};
    judge_calls_of_group(k, o, ev);
  }
  if (ev.bad.empty() && ev.ok.empty())
    return make("call outcomes", verdict::not_applicable, skipped);
  oracle_result r = make("call outcomes", ev.bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, ev.bad);
  add_capped(r.evidence, ev.ok);
  add_capped(r.evidence, skipped);
  return r;
}

oracle_result clean_exit(const run_view& rv) {
  const scenario& s = rv.s;
  const run_outcome& o = rv.o;
  if (!s.expect.clean_exit) return make("clean exit", verdict::not_applicable);
  std::vector<std::string> bad;
  const process_record* mux = mux_of(o);
  if (s.expect.target_dies) {
    // The scenario's own signal ends the target: gone before the driver's
    // stop; killed by that signal, or exit 0 with its socket file removed.
    if (!mux || !o.target_gone_before_stop)
      return make("target died", verdict::fail,
                  {fmt::format("the target (pid {}) was still running when the driver stopped "
                               "it, although expect.target_dies says the scenario ends it",
                               mux ? mux->pid : -1)});
    if (mux->status && WIFSIGNALED(*mux->status)) {
      std::string sig = faults::signal_name(WTERMSIG(*mux->status));
      for (const timeline_event* e : rv.ix.named("fault"))
        if (e->source == "driver" && e->str("kind") == "signal" &&
            e->num("target_pid") == mux->pid && e->str("what") == sig)
          return make("target died", verdict::pass,
                      {fmt::format("target (pid {}) {}, sent by the scenario's fault #{}", mux->pid,
                                   status_text(*mux), e->num("fault") + 1)});
      return make("target died", verdict::fail,
                  {fmt::format("target (pid {}) {}: no fault of the scenario sent {}", mux->pid,
                               status_text(*mux), sig)});
    }
    if (mux->status && WIFEXITED(*mux->status) && WEXITSTATUS(*mux->status) == 0 && !o.socket_left)
      return make("target died", verdict::pass,
                  {fmt::format("target (pid {}) exit 0 before the driver stopped it, socket file "
                               "removed",
                               mux->pid)});
    return make("target died", verdict::fail,
                {fmt::format("target (pid {}): {}{}", mux->pid, status_text(*mux),
                             o.socket_left ? ", socket file left" : "")});
  }
  if (!mux || !mux->status || !WIFEXITED(*mux->status) || WEXITSTATUS(*mux->status) != 0)
    bad.push_back(fmt::format("mux (pid {}): {}", mux ? mux->pid : -1,
                              mux ? status_text(*mux) : std::string("not started")));
  if (o.socket_left) bad.push_back("the mux's socket file is still there after its exit");
  if (bad.empty())
    return make("clean exit", verdict::pass,
                {o.external_target ? fmt::format("{} target exit 0 on SIGTERM, socket file removed",
                                                 o.target_name)
                                   : std::string("mux exit 0, socket file removed")});
  return make("clean exit", verdict::fail, std::move(bad));
}

oracle_result resources(const scenario& s, const timeline&, const run_outcome& o) {
  if (!s.expect.resources) return make("resources", verdict::not_applicable);
  std::vector<std::string> bad;
  for (const auto& l : o.leftovers) bad.push_back("left over: " + l);
  const process_record* mux = mux_of(o);
  const bool killed = s.expect.target_dies && mux && mux->status && WIFSIGNALED(*mux->status);
  if (o.socket_left && !killed) bad.push_back("socket file left");
    // A sanitizer build of faultmux (this binary, and so the mux it runs) holds
    // shadow memory and quarantine of its own: the bound is faultmux's.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  const long rss_bound_mib = static_cast<long>(s.expect.max_rss_mib) * 8;
#else
  const long rss_bound_mib = s.expect.max_rss_mib;
#endif
  if (o.mux_peak_rss_kib > rss_bound_mib * 1024)
    bad.push_back(fmt::format("mux peak RSS {} MiB over the {} MiB bound",
                              o.mux_peak_rss_kib / 1024, rss_bound_mib));
  if (bad.empty())
    return make("resources", verdict::pass,
                {fmt::format("no leftovers; mux peak RSS {} KiB", o.mux_peak_rss_kib)});
  oracle_result r = make("resources", verdict::fail);
  add_capped(r.evidence, bad);
  return r;
}

// An oracle on an indexed run, as an oracle_fn.
template <oracle_result (*judge_view)(const run_view&)>
oracle_result on_view(const scenario& s, const timeline& tl, const run_outcome& o) {
  return judge_view(run_view(s, tl, o));
}

}  // namespace

oracle_fn* const oracle_finished = finished;
oracle_fn* const oracle_errors_logged = on_view<errors_logged>;
oracle_fn* const oracle_no_unexpected_errors = on_view<no_unexpected_errors>;
oracle_fn* const oracle_nothing_lost = on_view<nothing_lost>;
oracle_fn* const oracle_calls = on_view<calls>;
oracle_fn* const oracle_outcomes = on_view<outcomes_of>;
oracle_fn* const oracle_listener_alive = listener_alive;
oracle_fn* const oracle_faults_fired = on_view<faults_fired>;
oracle_fn* const oracle_disconnected_groups = on_view<disconnected_groups>;
oracle_fn* const oracle_clean_exit = on_view<clean_exit>;
oracle_fn* const oracle_resources = resources;

std::vector<std::string> unserved_call_groups(const scenario& s, const run_outcome& o) {
  std::vector<std::string> out;
  for (const auto& g : s.workers)
    if (calls_not_served(s, o, g.name)) out.push_back(g.name);
  return out;
}

// The timeline is indexed once for every oracle.
std::vector<oracle_result> judge(const scenario& s, const timeline& tl, const run_outcome& o) {
  const run_view rv(s, tl, o);
  return {finished(s, tl, o),
          errors_logged(rv),
          no_unexpected_errors(rv),
          nothing_lost(rv),
          calls(rv),
          outcomes_of(rv),
          listener_alive(s, tl, o),
          faults_fired(rv),
          disconnected_groups(rv),
          clean_exit(rv),
          resources(s, tl, o),
          error_disconnects_logged(rv),
          handshake_deadlines(rv),
          other_uid_refused(rv)};
}

const oracle_result* first_failure(const std::vector<oracle_result>& results) {
  for (const auto& r : results)
    if (is_failure(r.v)) return &r;
  return nullptr;
}

verdict run_verdict(bool could_not_run, const std::vector<oracle_result>& results, bool unserved) {
  if (could_not_run) return verdict::error;
  if (first_failure(results)) return verdict::fail;
  return unserved ? verdict::not_applicable : verdict::pass;
}

}  // namespace faultmux
