#include "harness/report_timeline.hpp"

#include <signal.h>
#include <string.h>
#include <sys/wait.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <set>

#include <fmt/format.h>

#include "harness/worker_command.hpp"

namespace faultmux {
namespace {

using reports::mark;
using reports::process_row;

double start_of(const timeline& tl) {
  return tl.empty() ? 0.0 : tl.front().t;
}

std::string cut(std::string s, std::size_t n = 160) {
  if (s.size() > n) s = s.substr(0, n - 3) + "...";
  return s;
}

std::string status_text(int st) {
  if (WIFSIGNALED(st))
    return fmt::format("killed by {}", sigabbrev_np(WTERMSIG(st))
                                           ? std::string("SIG") + sigabbrev_np(WTERMSIG(st))
                                           : std::to_string(WTERMSIG(st)));
  return fmt::format("exit {}", WEXITSTATUS(st));
}

// Marks that say something went wrong or was done to the process: kept
// whatever the cap.
bool is_key(const mark& m) {
  return m.kind == "fault" || m.kind == "error" || m.kind == "killed" || m.kind == "stopped" ||
         m.kind == "resumed" || m.kind == "disconnect";
}

// At most `cap` marks: the first and the last, then faults and errors, then
// the rest, each kind evenly thinned when it does not fit.
std::vector<mark> cap_marks(std::vector<mark> marks, std::size_t cap) {
  std::stable_sort(marks.begin(), marks.end(),
                   [](const mark& a, const mark& b) { return a.t < b.t; });
  if (marks.size() <= cap || cap < 2) return marks;
  std::vector<bool> keep(marks.size(), false);
  keep.front() = keep.back() = true;
  std::size_t budget = cap - 2;
  auto take = [&](bool key) {
    std::vector<std::size_t> idx;
    for (std::size_t i = 1; i + 1 < marks.size(); ++i)
      if (is_key(marks[i]) == key) idx.push_back(i);
    std::size_t n = std::min(budget, idx.size());
    for (std::size_t k = 0; k < n; ++k) keep[idx[k * idx.size() / n]] = true;
    budget -= n;
  };
  take(true);
  take(false);
  std::vector<mark> out;
  for (std::size_t i = 0; i < marks.size(); ++i)
    if (keep[i]) out.push_back(std::move(marks[i]));
  return out;
}

bool is_stop_signal(const std::string& s) {
  return s == "SIGSTOP" || s == "SIGTSTP";
}

// A driver fault event aimed at `pid`, as a mark.
std::optional<mark> driver_fault_mark(const timeline_event& e, pid_t pid, double t0) {
  if (e.source != "driver" || e.event() != "fault" || e.num("target_pid") != pid)
    return std::nullopt;
  const std::string kind = e.str("kind"), what = e.str("what"), err = e.str("errno");
  std::string text = what + (err.empty() ? "" : " failed: " + err);
  std::string mk = "fault";
  if (kind == "signal" && is_stop_signal(what)) mk = "stopped";
  if (kind == "resume" || kind == "restore" || (kind == "signal" && what == "SIGCONT"))
    mk = "resumed";
  if (kind == "signal" || kind == "resume") text += " (driver)";
  return mark{e.t - t0, mk, cut(text)};
}

// A warning or error line of the process.
std::optional<mark> log_mark(const timeline_event& e, double t0) {
  if (!is_error_line(e)) return std::nullopt;
  return mark{e.t - t0, "error", cut(e.str("msg"))};
}

// Whether a mux event concerns the client with `pid`.
bool about_client(const timeline_event& e, pid_t pid) {
  if (e.source != "mux" || e.str("role") != "mux") return false;
  if (e.event() == "disconnect") return e.str("stream") == fmt::format("unix_client.{}", pid);
  if (e.event() == "handshake" || e.event() == "handshake_failed") return e.num("pid") == pid;
  return false;
}

struct span_facts {
  explicit span_facts(const timeline& tl) : ix(tl) {}
  timeline_index ix;
  // The driver's fault events by the pid they were aimed at.
  std::map<long long, timeline_index::events> driver_faults;
  double t0 = 0;
  // The driver's final stop: SIGTERM to the workers still running, then to
  // the mux. What ends after it is the run's normal end, not a fault's.
  double mux_stop = INFINITY;
  std::map<std::string, double> spawned;  // by process name
};

void gather_facts(const timeline& tl, span_facts& f) {
  f.t0 = start_of(tl);
  for (const timeline_event* e : f.ix.of_source("driver")) {
    const std::string ev = e->event();
    if (ev == "workers_stop" || ev == "mux_stop") f.mux_stop = std::min(f.mux_stop, e->t);
    if (ev == "spawn" && !f.spawned.count(e->str("name"))) f.spawned[e->str("name")] = e->t;
    if (ev == "fault") f.driver_faults[e->num("target_pid")].push_back(e);
  }
}

// When a process that was killed died: the driver's or its own kill, when
// one came before the driver noticed.
std::optional<double> kill_time(const timeline_index& ix, pid_t pid, const std::string& source) {
  std::optional<double> at;
  for (const timeline_event* ep : ix.named("fault")) {
    const timeline_event& e = *ep;
    bool ours =
        (e.source == "driver" && e.num("target_pid") == pid && (e.str("kind") == "signal") &&
         !is_stop_signal(e.str("what")) && e.str("what") != "SIGCONT") ||
        (e.source == source && e.str("kind") == "phase" &&
         (e.str("action") == "SIGKILL" || e.str("action") == "SIGTERM"));
    if (ours && !at) at = e.t;
  }
  return at;
}

void finish_row(process_row& row, const traced_process& p, const timeline_index& ix, double t0,
                double last_own) {
  if (!p.status) {
    row.outcome = "running";
    return;
  }
  double end = p.exited.value_or(last_own);
  if (WIFSIGNALED(*p.status))
    if (auto k = kill_time(ix, p.pid, p.name); k && *k < end) end = *k;
  end = std::max(end, last_own);
  row.end_s = end - t0;
  row.marks.push_back(
      {end - t0, WIFSIGNALED(*p.status) ? "killed" : "exit", status_text(*p.status)});
}

// What a worker's events say about how it ended, gathered while its marks are drawn.
struct worker_facts {
  double last_own = -INFINITY;
  std::optional<double> first_own;
  std::string connect_errno;
  bool connected = false;         // it said it completed the handshake
  bool handshake_failed = false;  // the mux ended its connection during the handshake
  bool failed_workload = false;
  std::optional<double> gone_at, workload_end;
  // Its round trips and calls that went well: a run of thousands of workers
  // has hundreds of thousands, and a row draws a sample, made once chosen.
  std::vector<const timeline_event*> went_well;
};

// The mark of a round trip or call that went well.
mark went_well_mark(const timeline_event& e, double t0) {
  if (e.event() == "call")
    return {e.t - t0, "call",
            cut(fmt::format("{} call {}: result in {:.2f} ms", e.str("function"), e.num("seq"),
                            e.real("ms", 0.0)))};
  return {e.t - t0, "call",
          cut(fmt::format("round trip {} in {:.2f} ms", e.num("seq"), e.real("ms", 0.0)))};
}

// At most `keep` of them, evenly spread, as marks.
void add_went_well(const worker_facts& wf, double t0, std::size_t keep, process_row& row) {
  const std::size_t all = wf.went_well.size(), n = std::min(keep, all);
  for (std::size_t k = 0; k < n; ++k)
    row.marks.push_back(went_well_mark(*wf.went_well[k * all / n], t0));
}

// A mark for one of the worker's own events (none for events not drawn).
void own_event_mark(const timeline_event& e, double t0, process_row& row, worker_facts& wf) {
  const std::string ev = e.event();
  const double t = e.t - t0;
  if (ev == "connected") {
    wf.connected = true;
    row.marks.push_back({t, "connected", fmt::format("context {}", e.num("context_id"))});
  } else if (ev == "call") {
    const std::string outcome = e.str("outcome");
    if (outcome == "result") return wf.went_well.push_back(&e);
    const std::string error = e.str("error");
    row.marks.push_back(
        {t, "error",
         cut(fmt::format("{} call {}: {} in {:.2f} ms{}", e.str("function"), e.num("seq"), outcome,
                         e.real("ms", 0.0), error.empty() ? "" : ": " + error))});
  } else if (ev == "reply") {
    const std::string outcome = e.str("outcome");
    if (outcome == "ok") return wf.went_well.push_back(&e);
    row.marks.push_back(
        {t, "error", cut(fmt::format("reply {}: {} {}", e.num("seq"), outcome, e.str("reason")))});
  } else if (ev == "fault") {
    row.marks.push_back(
        {t, "fault", cut(fmt::format("{} at {}", e.str("action"), e.str("phase")))});
  } else if (ev == "fault_continued") {
    row.marks.push_back({t, "resumed", "continued after " + e.str("action")});
  } else if (ev == "workload_done") {
    wf.workload_end = e.t;
    row.marks.push_back(
        {t, e.num("failed", 0) > 0 ? "error" : "call",
         fmt::format("workload done: {} ok, {} failed", e.num("ok", 0), e.num("failed", 0))});
    if (e.num("failed", 0) > 0) wf.failed_workload = true;
  } else if (ev == "workload_failed") {
    wf.failed_workload = true;
    row.marks.push_back({t, "error", cut("workload failed: " + e.str("why"))});
  } else if (ev == "connect_failed") {
    wf.connect_errno = e.str("errno");
    row.marks.push_back({t, "error", cut("connect failed: " + e.str("detail"))});
  } else if (ev == "hostile_start") {
    row.marks.push_back({t, "fault", "hostile: " + e.str("behaviour")});
  } else if (ev == "hostile_done") {
    wf.workload_end = e.t;
    row.marks.push_back({t, "call", cut("hostile done: " + e.str("outcome"))});
  } else if (ev == "frame_part_sent") {
    row.marks.push_back(
        {t, "call",
         fmt::format("sent {} of {} frame bytes", e.num("bytes"), e.num("frame_bytes"))});
  } else if (auto m = log_mark(e, t0)) {
    row.marks.push_back(*m);
  }
}

// A mark for a mux event about the worker's stream: its handshake, or its end.
void mux_event_mark(const timeline_event& e, double t0, process_row& row, worker_facts& wf) {
  const double t = e.t - t0;
  if (e.event() == "handshake") {
    row.marks.push_back(
        {t, "handshake",
         fmt::format("mux: context {} ({:.1f} ms)", e.num("context_id"), e.real("ms", 0.0))});
    return;
  }
  if (!wf.gone_at) wf.gone_at = e.t;
  if (e.event() == "handshake_failed") wf.handshake_failed = true;
  std::string why = e.event() == "handshake_failed" ? "handshake failed" : "mux disconnected it";
  if (!e.str("why").empty()) why += ": " + e.str("why");
  if (!e.str("errno").empty()) why += " (" + e.str("errno") + ")";
  row.marks.push_back({t, "disconnect", cut(why)});
}

// What ended the worker, most telling first.
std::string worker_outcome(const traced_process& w, const span_facts& f, const worker_facts& wf) {
  if (!w.status) return "running";
  if (WIFSIGNALED(*w.status)) return "killed";
  if (!wf.connect_errno.empty()) {
    // Refused: the listener was gone or full; never connected: the
    // connection went (or failed otherwise) before the handshake completed.
    // Only a worker that connected can be disconnected.
    const std::string& er = wf.connect_errno;
    if (er == "ETIMEDOUT") return "timeout";
    if (er == "ECONNREFUSED" || er == "EAGAIN" || er == "ENOENT") return "refused";
    return "never connected";
  }
  // Its connection went at the mux before its workload ended (as the
  // disconnected-groups oracle judges it).
  if (wf.gone_at &&
      *wf.gone_at < (w.long_lived ? f.mux_stop : wf.workload_end.value_or(f.mux_stop)))
    return wf.handshake_failed && !wf.connected ? "never connected" : "disconnected";
  if (wf.failed_workload || WEXITSTATUS(*w.status) != 0) return "failed";
  return "ok";
}

// What a worker's row is drawn from: its own events, the mux's about its
// stream and the driver's faults aimed at it, in timeline order.
timeline_index::events events_for_worker(const span_facts& f, const traced_process& w) {
  timeline_index::events out = f.ix.of_source(w.name);
  const auto& stream = f.ix.of_stream(fmt::format("unix_client.{}", w.pid));
  out.insert(out.end(), stream.begin(), stream.end());
  for (const char* ev : {"handshake", "handshake_failed"}) {
    const auto& hs = f.ix.of(w.pid, ev);
    out.insert(out.end(), hs.begin(), hs.end());
  }
  if (auto it = f.driver_faults.find(w.pid); it != f.driver_faults.end())
    out.insert(out.end(), it->second.begin(), it->second.end());
  // One vector holds the timeline: address order is timeline order.
  std::sort(out.begin(), out.end(), std::less<const timeline_event*>());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

process_row worker_row(const span_facts& f, const traced_process& w, std::size_t max_marks) {
  const double t0 = f.t0;
  process_row row;
  row.name = w.name;
  row.role = "worker";
  row.group = w.group;
  row.index = w.index;
  row.pid = w.pid;
  worker_facts wf;
  for (const timeline_event* ep : events_for_worker(f, w)) {
    const timeline_event& e = *ep;
    if (e.source == w.name) {
      wf.last_own = std::max(wf.last_own, e.t);
      if (!wf.first_own) wf.first_own = e.t;
      own_event_mark(e, t0, row, wf);
    } else if (about_client(e, w.pid)) {
      mux_event_mark(e, t0, row, wf);
    } else if (auto m = driver_fault_mark(e, w.pid, t0)) {
      row.marks.push_back(*m);
    }
  }
  add_went_well(wf, t0, max_marks, row);
  auto sp = f.spawned.find(w.name);
  const double start = sp != f.spawned.end() ? sp->second : wf.first_own.value_or(t0);
  row.start_s = start - t0;
  row.marks.push_back({row.start_s, "spawn", fmt::format("pid {}", w.pid)});
  finish_row(row, w, f.ix, t0, std::max(wf.last_own, start));
  row.outcome = worker_outcome(w, f, wf);
  return row;
}

process_row mux_row(const timeline& tl, const span_facts& f, const traced_process& m) {
  const double t0 = f.t0;
  process_row row;
  row.name = "mux";
  row.role = "mux";
  row.pid = m.pid;
  double last_own = -INFINITY;
  for (const auto& e : tl) {
    const double t = e.t - t0;
    if (e.source == "mux" && e.pid() == m.pid) {
      last_own = std::max(last_own, e.t);
      const std::string ev = e.event();
      if (ev == "listening")
        row.marks.push_back(
            {t, "connected", "listening, backlog " + std::to_string(e.num("backlog"))});
      else if (ev == "listener_crashed")
        row.marks.push_back({t, "error", "listener closed (" + e.str("errno") + ")"});
      else if (ev == "accept_error")
        row.marks.push_back({t, "error", "accept: " + e.str("errno")});
      else if (ev == "accept_recovered")
        row.marks.push_back(
            {t, "resumed", fmt::format("accepting again after {} failures", e.num("failures"))});
      else if (auto lm = log_mark(e, t0))
        row.marks.push_back(*lm);
    } else if (e.source == "faults" && e.pid() == m.pid && e.event() == "fault") {
      const std::string on = e.str("fd_class").empty()  // socketpair, fork, execve: no fd
                                 ? std::string()
                                 : fmt::format(" on {} fd {}", e.str("fd_class"), e.num("fd"));
      row.marks.push_back(
          {t, "fault", cut(fmt::format("{}{} -> {}", e.str("call"), on, e.str("effect")))});
    } else if (auto dm = driver_fault_mark(e, m.pid, t0)) {
      row.marks.push_back(*dm);
    } else if (e.source == "driver" && e.event() == "mux_stop") {
      row.marks.push_back({t, "exit", "stop: " + e.str("signal") + " from the driver"});
    }
  }
  auto sp = f.spawned.find("mux");
  const double start = sp != f.spawned.end() ? sp->second : t0;
  row.start_s = start - t0;
  row.marks.push_back({row.start_s, "spawn", fmt::format("pid {}", m.pid)});
  finish_row(row, m, f.ix, t0, std::max(last_own, start));
  if (m.status) {
    const bool stopped_by_us = f.mux_stop < INFINITY && m.exited && *m.exited >= f.mux_stop;
    if (WIFSIGNALED(*m.status))
      row.outcome = stopped_by_us && WTERMSIG(*m.status) == SIGTERM ? "exited" : "killed";
    else
      row.outcome = WEXITSTATUS(*m.status) == 0 ? (stopped_by_us ? "ok" : "exited") : "failed";
  }
  return row;
}

// Contexts the mux (or a context) started, from the mux's events file.
std::vector<process_row> context_rows(const timeline& tl, const span_facts& f) {
  const double t0 = f.t0;
  std::vector<process_row> rows;
  std::map<long long, std::size_t> by_pid;
  for (const auto& e : tl) {
    if (e.source != "mux" || e.event() != "child_start") continue;
    const long long pid = e.num("child_pid");
    if (pid <= 0 || by_pid.count(pid)) continue;
    process_row row;
    row.name = e.str("child");
    row.role = "context";
    row.index = static_cast<int>(rows.size());
    row.pid = pid;
    row.start_s = e.t - t0;
    row.outcome = "running";
    row.marks.push_back({row.start_s, "spawn", fmt::format("pid {}", pid)});
    by_pid[pid] = rows.size();
    rows.push_back(std::move(row));
  }
  for (const auto& e : tl) {
    if (e.source != "mux") continue;
    const double t = e.t - t0;
    const std::string ev = e.event();
    if (ev == "child_exit") {
      auto it = by_pid.find(e.num("child_pid"));
      if (it == by_pid.end()) continue;
      process_row& row = rows[it->second];
      const int st = static_cast<int>(e.num("status", 0));
      row.end_s = t;
      row.outcome = WIFSIGNALED(st) ? "killed" : WEXITSTATUS(st) == 0 ? "ok" : "failed";
      row.marks.push_back({t, WIFSIGNALED(st) ? "killed" : "exit", status_text(st)});
      continue;
    }
    if (ev == "context_ready" || ev == "context_start_failed") {
      // The latest context of that name started by then (a dead one is restarted).
      process_row* row = nullptr;
      for (auto& r : rows)
        if (r.name == e.str("context") && r.start_s <= t) row = &r;
      if (row)
        row->marks.push_back(ev == "context_ready"
                                 ? mark{t, "handshake", "ready"}
                                 : mark{t, "error", cut("start failed: " + e.str("why"))});
      continue;
    }
    auto it = by_pid.find(e.pid());
    if (it == by_pid.end()) continue;
    process_row& row = rows[it->second];
    if (ev == "call_served")
      row.marks.push_back(
          {t, e.flag("ok", true) ? "call" : "error",
           fmt::format("served {} in {:.2f} ms", e.str("function"), e.real("ms", 0.0))});
    else if (ev == "exit" && !row.end_s)
      row.marks.push_back({t, "exit", fmt::format("exit {}", e.num("code"))});
    else if (auto lm = log_mark(e, t0))
      row.marks.push_back(*lm);
  }
  // A context whose exit its parent did not record ended with its own "exit"
  // event, or when the run ended.
  for (auto& row : rows) {
    if (row.end_s) continue;
    for (const auto& m : row.marks)
      if (m.kind == "exit") {
        row.end_s = m.t;
        row.outcome = "exited";
      }
  }
  return rows;
}

std::optional<process_row> probe_row(const timeline& tl, double t0) {
  const timeline_event *start = nullptr, *done = nullptr;
  for (const auto& e : tl)
    if (e.source == "driver") {
      if (e.event() == "probe_start" && !start) start = &e;
      if (e.event() == "probe" && !done) done = &e;
    }
  if (!done) return std::nullopt;
  process_row row;
  row.name = "probe";
  row.role = "probe";
  row.pid = done->pid();
  row.start_s = (start ? start->t : done->t) - t0;
  row.end_s = done->t - t0;
  const bool ok = done->flag("ok", false);
  row.outcome = ok ? "ok" : "failed";
  row.marks.push_back({row.start_s, "spawn", "two probe clients connect"});
  row.marks.push_back({*row.end_s, ok ? "call" : "error", cut(done->str("detail"))});
  return row;
}

bool affected(const process_row& r) {
  if (r.outcome != "ok" && r.outcome != "exited") return true;
  return std::any_of(r.marks.begin(), r.marks.end(), [](const mark& m) { return is_key(m); });
}

}  // namespace

reports::timeline_info timeline_rows(const timeline& tl, const traced_process& mux,
                                     const std::vector<traced_process>& workers,
                                     const std::vector<worker_group>& groups,
                                     const report_limits& limits) {
  span_facts f(tl);
  gather_facts(tl, f);
  reports::timeline_info out;
  std::vector<process_row> rows;
  // Each row's marks are capped as it is made: thousands of workers' every
  // round trip would be the largest thing a big run's judging holds.
  auto add_row = [&](process_row r) {
    r.marks = cap_marks(std::move(r.marks), limits.max_marks);
    rows.push_back(std::move(r));
  };
  if (mux.pid > 0) add_row(mux_row(tl, f, mux));
  auto contexts = context_rows(tl, f);
  for (const auto& c : contexts) add_row(c);
  for (const auto& w : workers) add_row(worker_row(f, w, limits.max_marks));
  if (auto p = probe_row(tl, f.t0)) add_row(std::move(*p));

  // Group counts over every row, before any is left out.
  for (const auto& g : groups) {
    reports::group_row gr;
    gr.name = g.name;
    gr.role = "worker";
    for (const auto& r : rows)
      if (r.role == "worker" && r.group == g.name) {
        ++gr.count;
        ++gr.outcomes[r.outcome];
      }
    out.groups.push_back(std::move(gr));
  }
  if (!contexts.empty()) {
    reports::group_row gr;
    gr.name = "contexts";
    gr.role = "context";
    for (const auto& r : contexts) {
      ++gr.count;
      ++gr.outcomes[r.outcome];
    }
    out.groups.push_back(std::move(gr));
  }

  double end = tl.empty() ? f.t0 : tl.back().t;
  for (const auto& r : rows)
    if (r.end_s) end = std::max(end, f.t0 + *r.end_s);
  out.duration_s = end - f.t0;

  // Too many rows: the mux, then the affected ones, then the rest, in order.
  std::vector<bool> keep(rows.size(), rows.size() <= limits.max_rows);
  if (rows.size() > limits.max_rows) {
    std::size_t left = limits.max_rows;
    for (int pass = 0; pass < 3 && left > 0; ++pass)
      for (std::size_t i = 0; i < rows.size() && left > 0; ++i) {
        if (keep[i]) continue;
        bool want = pass == 0 ? rows[i].role == "mux" : pass == 1 ? affected(rows[i]) : true;
        if (want) {
          keep[i] = true;
          --left;
        }
      }
  }
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!keep[i]) {
      ++out.processes_omitted;
      continue;
    }
    out.processes.push_back(std::move(rows[i]));
  }
  return out;
}

std::optional<reports::latency_summary> summarize_latencies(std::vector<double> v) {
  if (v.empty()) return std::nullopt;
  std::sort(v.begin(), v.end());
  reports::latency_summary s;
  s.count = static_cast<int>(v.size());
  double sum = 0;
  for (double x : v) sum += x;
  s.mean_ms = sum / static_cast<double>(v.size());
  // Nearest rank: the smallest value with at least q of them at or below it.
  auto pct = [&](double q) {
    auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
  };
  s.p50_ms = pct(0.50);
  s.p90_ms = pct(0.90);
  s.p99_ms = pct(0.99);
  s.max_ms = v.back();
  // 1-2-5 bounds from the bucket of the smallest value to that of the largest.
  auto bound = [](int k) {  // k = 0: 0.01 ms
    static constexpr double steps[] = {1, 2, 5};
    return steps[((k % 3) + 3) % 3] * std::pow(10.0, std::floor(k / 3.0) - 2);
  };
  int k = 0;
  while (k > -12 && bound(k - 1) >= v.front()) --k;
  while (bound(k) < v.front()) ++k;
  std::size_t i = 0;
  while (i < v.size()) {
    reports::latency_bucket b{bound(k), 0};
    while (i < v.size() && v[i] <= b.le_ms) {
      ++b.count;
      ++i;
    }
    s.buckets.push_back(b);
    ++k;
  }
  return s;
}

std::optional<reports::latency_summary> latency_of(const timeline& tl) {
  std::vector<double> ms;
  for (const auto& e : tl) {
    if (e.event() != "call" && e.event() != "reply") continue;
    if (e.str("role") != "worker") continue;
    const double took = e.real("ms", -1);
    if (took < 0) continue;
    const std::string outcome = e.str("outcome");
    if ((e.event() == "call" && outcome != "timeout" && outcome != "disconnected") ||
        (e.event() == "reply" && outcome == "ok"))
      ms.push_back(took);
  }
  return summarize_latencies(std::move(ms));
}

std::vector<reports::fault_window> windows_of(const timeline& tl, const traced_process& mux,
                                              const std::vector<traced_process>& workers,
                                              double end_s) {
  const double t0 = start_of(tl);
  std::map<long long, std::string> name_of{{mux.pid, "mux"}};
  std::map<long long, std::string> group_of;
  for (const auto& w : workers) {
    name_of[w.pid] = w.name;
    group_of[w.pid] = w.group;
  }
  // One window per fault of the scenario (its index), over all its targets.
  struct open_window {
    double from = INFINITY, to = -INFINITY;
    bool closed = false;
    std::set<std::string> who;
    std::string what;
  };
  std::map<std::string, open_window> open;
  std::vector<std::string> order;
  auto at = [&](const std::string& key) -> open_window& {
    if (!open.count(key)) order.push_back(key);
    return open[key];
  };
  for (const auto& e : tl) {
    if (e.event() == "fault" && e.source == "driver" && e.str("errno").empty()) {
      const std::string kind = e.str("kind");
      const long long pid = e.num("target_pid");
      const std::string key = fmt::format("driver {}", e.num("fault"));
      if (kind == "signal" && is_stop_signal(e.str("what"))) {
        auto& w = at(key);
        w.from = std::min(w.from, e.t);
        w.who.insert(pid == mux.pid ? "mux" : "group " + group_of[pid]);
        w.what = "stopped (" + e.str("what") + ")";
      } else if (kind == "nofile") {
        auto& w = at(key);
        w.from = std::min(w.from, e.t);
        w.who.insert(name_of.count(pid) ? name_of[pid] : fmt::format("pid {}", pid));
        w.what = e.str("what");
      } else if ((kind == "resume" || kind == "restore") && open.count(key)) {
        auto& w = open[key];
        w.to = std::max(w.to, e.t);
        w.closed = true;
      }
    } else if (e.event() == "fault" && e.str("kind") == "phase" &&
               is_stop_signal(e.str("action"))) {
      const auto g = group_of.find(e.pid());
      if (g == group_of.end()) continue;
      auto& w = at("phase " + g->second);
      w.from = std::min(w.from, e.t);
      w.who.insert("group " + g->second);
      w.what = fmt::format("stopped itself at {} ({})", e.str("phase"), e.str("action"));
    } else if (e.event() == "fault_continued") {
      const auto g = group_of.find(e.pid());
      if (g == group_of.end() || !open.count("phase " + g->second)) continue;
      auto& w = open["phase " + g->second];
      w.to = std::max(w.to, e.t);
      w.closed = true;
    }
  }
  std::vector<reports::fault_window> out;
  for (const auto& key : order) {
    const open_window& w = open[key];
    std::string who;
    for (const auto& x : w.who) who += (who.empty() ? "" : ", ") + x;
    out.push_back({w.from - t0, w.closed ? std::max(w.to - t0, w.from - t0) : end_s,
                   who + " " + w.what + (w.closed ? "" : ", never undone")});
  }
  return out;
}

reports::resource_info resources_of(pid_t pid, int interval_ms,
                                    const std::optional<long long>& baseline_fds,
                                    const std::vector<resource_point>& samples, double t0) {
  reports::resource_info r;
  r.pid = pid;
  r.interval_ms = interval_ms;
  r.baseline_fds = baseline_fds;
  for (const auto& s : samples) {
    r.samples.push_back({s.t - t0, s.fds, s.rss_kib, {}});
    if (s.accept_queue >= 0) r.samples.back().accept_queue = s.accept_queue;
    if (s.listen_backlog >= 0) r.listen_backlog = s.listen_backlog;
  }
  return r;
}

void add_not_started_rows(reports::timeline_info& tl, const std::vector<worker_group>& groups,
                          const std::map<std::string, not_started_group>& missing,
                          const report_limits& limits) {
  for (const auto& g : groups) {
    auto it = missing.find(g.name);
    if (it == missing.end()) continue;
    const not_started_group& m = it->second;
    auto gr = std::find_if(tl.groups.begin(), tl.groups.end(),
                           [&](const reports::group_row& r) { return r.name == g.name; });
    if (gr == tl.groups.end()) {
      tl.groups.push_back({g.name, "worker", 0, {}});
      gr = tl.groups.end() - 1;
    }
    for (int i = m.started; i < g.count; ++i) {
      ++gr->count;
      ++gr->outcomes["not started"];
      if (tl.processes.size() >= limits.max_rows) {
        ++tl.processes_omitted;
        continue;
      }
      reports::process_row row;
      row.name = worker_name(g, i);
      row.role = "worker";
      row.group = g.name;
      row.index = i;
      row.end_s = 0;
      row.outcome = "not started";
      row.marks.push_back({0, "error", cut("not started: " + m.why)});
      tl.processes.push_back(std::move(row));
    }
  }
}

}  // namespace faultmux
