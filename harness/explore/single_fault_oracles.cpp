#include "harness/explore/single_fault_oracles.hpp"

#include <sys/wait.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "harness/oracle_support.hpp"

namespace faultmux {
namespace {

using namespace oracle_support;

// A stream the mux names after its client's pid: "unix_client.1234".
pid_t stream_pid(const std::string& stream) {
  auto dot = stream.rfind('.');
  if (dot == std::string::npos) return -1;
  try {
    return static_cast<pid_t>(std::stol(stream.substr(dot + 1)));
  } catch (const std::exception&) {
    return -1;
  }
}

// A context the mux (or a context) started, by its name: the processes it
// ran as and the context ids it had (one each, or more if it was restarted).
struct context_record {
  std::string name;  // "a", without "context:"
  std::set<pid_t> pids;
  std::set<long long> ids;
};

// What the run did, indexed once.
struct fault_view {
  explicit fault_view(const timeline& tl) : ix(tl) {}
  timeline_index ix;
  const process_record* mux = nullptr;
  // The faulted peers' processes: one, or two for a pair of hard faults.
  std::vector<const process_record*> faulted;
  // The faulted contexts ("context:NAME" peers).
  std::vector<context_record> faulted_contexts;
  std::map<std::string, pid_t> context_pids;  // a context's latest pid, by its (stream) name
  std::set<pid_t> requesters;                 // got a dead reply for a faulted peer
  // Workers of a calls group whose calls are routed to a faulted context.
  std::set<pid_t> callers;
  // The mux's disconnects caused by an error (not a clean EOF), and its
  // failed handshakes, by client pid.
  std::vector<std::pair<pid_t, std::string>> error_disconnects;
  std::vector<std::pair<pid_t, std::string>> eof_disconnects;
  std::vector<const timeline_event*> mux_error_lines;  // level error or critical
  std::vector<const timeline_event*> mux_log_lines;    // warning and above
};

std::string process_name_of(const std::string& peer) {
  auto colon = peer.rfind(':');
  if (colon == std::string::npos || peer.starts_with("context:")) return "";
  return fmt::format("worker-{}-{}", peer.substr(0, colon), peer.substr(colon + 1));
}

bool exited_zero(const process_record& p);
std::optional<std::string> incomplete(const scenario& s, const timeline_index& ix,
                                      const process_record& p);

// "good:0" or "good:0,servers:1": the workers' process names.
std::set<std::string> process_names_of(const std::string& peers) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at <= peers.size()) {
    std::size_t comma = std::min(peers.find(',', at), peers.size());
    if (std::string name = process_name_of(peers.substr(at, comma - at)); !name.empty())
      out.insert(name);
    at = comma + 1;
  }
  return out;
}

// "context:a,good:1": the contexts' names ("a").
std::set<std::string> context_names_of(const std::string& peers) {
  std::set<std::string> out;
  std::size_t at = 0;
  while (at <= peers.size()) {
    std::size_t comma = std::min(peers.find(',', at), peers.size());
    std::string peer = peers.substr(at, comma - at);
    if (peer.starts_with("context:")) out.insert(peer.substr(8));
    at = comma + 1;
  }
  return out;
}

// Whether context path `path` ("hop/leaf") goes through the context `name`.
bool path_through(const std::string& path, const std::string& name) {
  std::size_t at = 0;
  while (at <= path.size()) {
    std::size_t slash = std::min(path.find('/', at), path.size());
    if (path.compare(at, slash - at, name) == 0 && slash - at == name.size()) return true;
    at = slash + 1;
  }
  return false;
}

// The contexts started in the run (child_start: name and pid; the starter's
// stream_open of that name: its id), the faulted ones among them, and the
// workers whose calls go to or through a faulted one.
void note_contexts(const scenario& s, const timeline& tl, const run_outcome& o, fault_view& v) {
  const std::set<std::string> names = context_names_of(s.expect.faulted_peer);
  std::map<std::string, context_record> all;
  for (const auto& e : tl) {
    if (e.source != "mux") continue;
    const std::string ev = e.event();
    if (ev == "child_start") {
      const std::string name = e.str("child");
      all[name].pids.insert(static_cast<pid_t>(e.num("child_pid")));
      v.context_pids[name] = static_cast<pid_t>(e.num("child_pid"));
    } else if (ev == "stream_open" && all.count(e.str("stream"))) {
      all[e.str("stream")].ids.insert(e.num("context_id"));
    }
  }
  for (const auto& n : names) {
    context_record r = all[n];
    r.name = n;
    v.faulted_contexts.push_back(std::move(r));
    for (const auto& g : s.workers) {
      if (g.workload != worker_group::workload_t::calls ||
          (!path_through(g.context, n) && !path_through(g.relay_to, n)))
        continue;
      for (const auto& p : o.processes)
        if (p.group == g.name) v.callers.insert(p.pid);
    }
  }
}

// The pid a disconnect line is about: a worker's stream is named after its
// pid ("unix_client.1234"), a stream to a context after the context ("a",
// by the mux or by the context that started it); a context's own line
// about its stream to its parent is its own.
pid_t disconnect_pid(const timeline_event& e, const fault_view& v) {
  const std::string stream = e.str("stream");
  if (auto it = v.context_pids.find(stream); it != v.context_pids.end()) return it->second;
  if (e.str("role") == "context") return e.pid();
  return stream_pid(stream);
}

void view_of(const scenario& s, const timeline& tl, const run_outcome& o, fault_view& v) {
  v.mux = mux_of(o);
  const std::set<std::string> faulted_names = process_names_of(s.expect.faulted_peer);
  for (const auto& p : o.processes)
    if (faulted_names.count(p.name)) v.faulted.push_back(&p);
  note_contexts(s, tl, o, v);
  std::set<long long> faulted_ids;
  for (const auto& c : v.faulted_contexts) faulted_ids.insert(c.ids.begin(), c.ids.end());
  std::map<long long, pid_t> pid_of_id;
  for (const auto& e : tl) {
    if (e.event() == "connected") {
      pid_of_id[e.num("context_id")] = e.pid();
      for (const process_record* f : v.faulted)
        if (e.pid() == f->pid) faulted_ids.insert(e.num("context_id"));
    }
  }
  auto for_faulted = [&](const timeline_event& e) {
    for (long long id : faulted_ids)
      if (e.num("respondent") == id ||
          e.str("reason").rfind(fmt::format("no route to {},", id), 0) == 0)
        return true;
    return false;
  };
  for (const auto& e : tl) {
    // By source: a handshake_failed line's own "pid" is its client's.
    if (e.source != "mux") continue;
    const std::string ev = e.event();
    if (ev == "disconnect") {
      const std::string why = e.str("why"), err = e.str("errno");
      // EOF: the client left; shutdown: the mux itself is stopping.
      // A worker that did all its work and left while a frame of the mux's
      // own was on its way (a DEL_ROUTE for a peer that went) resets the
      // connection: that reset costs nobody anything.
      const pid_t pid = disconnect_pid(e, v);
      auto left_done = [&] {
        if (err != "ECONNRESET" && err != "EPIPE") return false;
        for (const auto& p : o.processes)
          if (p.pid == pid && !p.group.empty()) return !incomplete(s, v.ix, p).has_value();
        return false;
      };
      const bool clean = ((why == "EOF" || why == "shutdown") && err.empty()) || left_done();
      auto& list = clean ? v.eof_disconnects : v.error_disconnects;
      list.emplace_back(pid,
                        fmt::format("{} {}{}", e.str("stream"), why, err.empty() ? "" : " " + err));
    } else if (ev == "handshake_failed") {
      v.error_disconnects.emplace_back(static_cast<pid_t>(e.num("pid")),
                                       fmt::format("handshake of pid {} failed: {} {}",
                                                   e.num("pid"), e.str("why"), e.str("errno")));
    } else if (ev == "dead" && for_faulted(e)) {
      // The requester is answered for the faulted peer: as its respondent
      // while it was routed, "no route to ID" after.
      if (auto it = pid_of_id.find(e.num("dst")); it != pid_of_id.end())
        v.requesters.insert(it->second);
    } else if (ev == "log") {
      const std::string level = e.str("level");
      if (level == "error" || level == "critical") v.mux_error_lines.push_back(&e);
      if (level == "warning" || level == "error" || level == "critical")
        v.mux_log_lines.push_back(&e);
    }
  }
}

bool exited_zero(const process_record& p) {
  return p.status && WIFEXITED(*p.status) && WEXITSTATUS(*p.status) == 0;
}

// Whether worker `p` did all its group's work: exit 0 and, for a workload,
// workload_done with nothing failed.
std::optional<std::string> incomplete(const scenario& s, const timeline_index& ix,
                                      const process_record& p) {
  if (!exited_zero(p)) return fmt::format("{} (pid {}): {}", p.name, p.pid, status_text(p));
  const worker_group* g = group_named(s, p.group);
  const bool has_workload = g && (g->workload == worker_group::workload_t::echo ||
                                  g->workload == worker_group::workload_t::calls);
  const char* needed = has_workload ? "workload_done" : "connected";
  const timeline_event* found = timeline_index::last(ix.of(p.pid, needed));
  if (!found) return fmt::format("{} (pid {}): no {} event", p.name, p.pid, needed);
  if (has_workload && found->num("failed", 0) != 0)
    return fmt::format("{} (pid {}): workload_done failed={} of {}", p.name, p.pid,
                       found->num("failed", 0), found->num("count", 0));
  return std::nullopt;
}

// The fault is one of the worker's own calls (a syscall rule in = "workers").
bool fault_in_worker(const scenario& s) {
  return std::any_of(s.faults.begin(), s.faults.end(), [](const fault_spec& f) {
    return f.kind == fault_spec::kind_t::syscall && f.in == "workers";
  });
}

bool is_affected(const fault_view& v, pid_t pid) {
  return v.requesters.count(pid) > 0 || v.callers.count(pid) > 0 ||
         std::any_of(v.faulted.begin(), v.faulted.end(),
                     [&](const process_record* f) { return f->pid == pid; }) ||
         std::any_of(v.faulted_contexts.begin(), v.faulted_contexts.end(),
                     [&](const context_record& c) { return c.pids.count(pid) > 0; });
}

// Every worker the fault did not touch finished its work intact.
oracle_result others_intact(const scenario& s, const timeline& tl, const run_outcome& o,
                            const fault_view& v) {
  std::vector<std::string> bad;
  int checked = 0;
  for (const auto& p : o.processes) {
    if (p.group.empty() || is_affected(v, p.pid)) continue;
    ++checked;
    if (auto why = incomplete(s, v.ix, p)) bad.push_back(*why);
  }
  oracle_result r = make("others intact", bad.empty() ? verdict::pass : verdict::fail);
  if (bad.empty()) r.evidence.push_back(fmt::format("{} untouched workers completed", checked));
  add_capped(r.evidence, bad);
  return r;
}

// transient: no stream went for an error, no error line, nothing lost.
oracle_result invisible(const fault_view& v) {
  std::vector<std::string> bad;
  for (const auto& [pid, what] : v.error_disconnects) bad.push_back("disconnected: " + what);
  for (const auto* e : v.mux_error_lines) bad.push_back("error line: " + e->str("msg"));
  oracle_result r = make("invisible", bad.empty() ? verdict::pass : verdict::fail);
  if (bad.empty())
    r.evidence.push_back("no stream disconnected for an error and the mux logged no error");
  add_capped(r.evidence, bad);
  return r;
}

// A faulted context: its channel may go (the mux's stream named after it,
// or its own stream to its parent), and when it goes for an error a line of
// the mux or of the context names that stream or its pid.
void context_contained(const context_record& c, const fault_view& v, std::vector<std::string>& ok,
                       std::vector<std::string>& bad) {
  std::vector<std::string> gone;
  for (const auto& [pid, what] : v.error_disconnects)
    if (c.pids.count(pid)) gone.push_back(what);
  if (gone.empty()) {
    ok.push_back(fmt::format("context {} lost no stream for an error", c.name));
    return;
  }
  auto names_it = [&](const timeline_event* e) {
    const std::string msg = e->str("msg");
    if (msg.find("stream " + c.name + ":") != std::string::npos) return true;
    if (c.pids.count(e->pid()) && msg.find("stream parent:") != std::string::npos) return true;
    return std::any_of(c.pids.begin(), c.pids.end(),
                       [&](pid_t p) { return msg.find(std::to_string(p)) != std::string::npos; });
  };
  if (std::any_of(v.mux_log_lines.begin(), v.mux_log_lines.end(), names_it))
    ok.push_back(fmt::format("the loss of context {}'s channel ({}) is logged", c.name, gone[0]));
  else
    bad.push_back(fmt::format(
        "context {}'s channel went for an error ({}) with no log line naming it", c.name, gone[0]));
}

// hard: only the faulted peer's stream went, and its going was logged with
// the stream and errno; its requesters ended by themselves.
oracle_result contained(const scenario& s, const timeline& tl, const fault_view& v) {
  std::vector<std::string> bad, ok;
  for (const auto& [pid, what] : v.error_disconnects)
    if (!is_affected(v, pid)) bad.push_back("an untouched stream disconnected: " + what);
  for (const process_record* faulted : v.faulted) {
    const pid_t fp = faulted->pid;
    auto went = [&](const auto& list) {
      return std::any_of(list.begin(), list.end(), [&](const auto& d) { return d.first == fp; });
    };
    const bool error_gone = went(v.error_disconnects);
    // A worker whose own connect failed never reached the mux: there is no
    // stream to go, and its failure (exit 3) is its own.
    const bool never_reached = fault_in_worker(s) && v.ix.of(fp, "connected").empty() &&
                               !v.ix.of(fp, "connect_failed").empty();
    if (!error_gone && !went(v.eof_disconnects) && exited_zero(*faulted) &&
        !incomplete(s, v.ix, *faulted))
      ok.push_back(fmt::format("{} recovered and completed its work", faulted->name));
    else if (!error_gone && !went(v.eof_disconnects) && never_reached)
      ok.push_back(
          fmt::format("{} failed its own connect and never reached the mux", faulted->name));
    else if (!error_gone && !went(v.eof_disconnects))
      bad.push_back(fmt::format("{} (pid {}) failed but the mux recorded no disconnect for it",
                                faulted->name, fp));
    if (error_gone) {
      const std::string pid_text = std::to_string(fp);
      const bool logged = std::any_of(
          v.mux_log_lines.begin(), v.mux_log_lines.end(),
          [&](const auto* e) { return e->str("msg").find(pid_text) != std::string::npos; });
      if (logged)
        ok.push_back(fmt::format("the disconnect of {} is logged with its pid", faulted->name));
      else
        bad.push_back(fmt::format(
            "{} (pid {}) disconnected for an error with no log line naming it", faulted->name, fp));
    }
  }
  for (const context_record& c : v.faulted_contexts) context_contained(c, v, ok, bad);
  auto ended = [&](pid_t p) {
    return !v.ix.of(p, "workload_done").empty() || !v.ix.of(p, "workload_failed").empty();
  };
  for (pid_t req : v.requesters)
    if (!ended(req))
      bad.push_back(fmt::format("requester pid {} got a dead reply but never ended", req));
  if (!v.requesters.empty())
    ok.push_back(fmt::format("{} requester(s) of the faulted peer got dead replies and ended",
                             v.requesters.size()));
  for (pid_t caller : v.callers)
    if (!ended(caller))
      bad.push_back(fmt::format("caller pid {} of a faulted context never ended", caller));
  oracle_result r = make("contained", bad.empty() ? verdict::pass : verdict::fail);
  add_capped(r.evidence, bad);
  add_capped(r.evidence, ok);
  return r;
}

// stall: while the faulted worker was stopped, every other worker that has
// work finished it; nobody waited for the stopped one.
oracle_result not_held_up(const scenario& s, const timeline& tl, const run_outcome& o,
                          const fault_view& v) {
  // A stall is one worker's: pairs never judge two stalled peers at once.
  if (v.faulted.empty()) return make("not held up", verdict::fail, {"no faulted worker named"});
  const process_record* stopped = v.faulted.front();
  std::optional<double> resumed;
  for (const auto& e : tl)
    if (e.source == "driver" && e.event() == "fault" && e.str("kind") == "resume" &&
        e.num("target_pid") == stopped->pid)
      resumed = e.t;
  if (!resumed)
    return make("not held up", verdict::fail,
                {fmt::format("{} was never resumed: it did not stop at its phase", stopped->name)});
  std::vector<std::string> bad;
  int checked = 0;
  for (const auto& p : o.processes) {
    const worker_group* g = group_named(s, p.group);
    if (!g || p.pid == stopped->pid ||
        (g->workload != worker_group::workload_t::echo &&
         g->workload != worker_group::workload_t::calls))
      continue;
    ++checked;
    for (const timeline_event* e : v.ix.of(p.pid, "workload_done"))
      if (e->t > *resumed)
        bad.push_back(fmt::format("{} finished {:.0f} ms after {} was resumed: it waited for it",
                                  p.name, (e->t - *resumed) * 1000, stopped->name));
  }
  oracle_result r = make("not held up", bad.empty() ? verdict::pass : verdict::fail);
  if (bad.empty())
    r.evidence.push_back(
        fmt::format("{} other workers finished while {} was stopped", checked, stopped->name));
  add_capped(r.evidence, bad);
  return r;
}

// resource: the fault was logged and no stream went for it.
oracle_result survived(const fault_view& v) {
  std::vector<std::string> bad;
  for (const auto& [pid, what] : v.error_disconnects) bad.push_back("disconnected: " + what);
  if (v.mux_log_lines.empty()) bad.push_back("the mux logged nothing about the failure");
  oracle_result r = make("survived", bad.empty() ? verdict::pass : verdict::fail);
  if (bad.empty()) r.evidence.push_back("logged: " + v.mux_log_lines.front()->str("msg"));
  add_capped(r.evidence, bad);
  return r;
}

}  // namespace

std::vector<oracle_result> judge_single_fault(const scenario& s, const timeline& tl,
                                              const run_outcome& o) {
  fault_view v(tl);
  view_of(s, tl, o, v);
  const std::string& c = s.expect.fault_class;
  std::vector<oracle_result> out{oracle_faults_fired(s, tl, o), oracle_finished(s, tl, o)};
  if (c == "transient") out.push_back(invisible(v));
  if (c == "hard") out.push_back(contained(s, tl, v));
  if (c == "resource") out.push_back(survived(v));
  if (c == "stall") {
    out.push_back(invisible(v));
    out.push_back(not_held_up(s, tl, o, v));
  }
  // Only a hard fault may cost its peer anything.
  if (c != "hard")
    v.faulted.clear(), v.faulted_contexts.clear(), v.requesters.clear(), v.callers.clear();
  out.push_back(others_intact(s, tl, o, v));
  out.push_back(oracle_listener_alive(s, tl, o));
  out.push_back(oracle_clean_exit(s, tl, o));
  out.push_back(oracle_resources(s, tl, o));
  return out;
}

}  // namespace faultmux
