#include "harness/explore/fault_point.hpp"

#include <algorithm>
#include <set>

#include <fmt/format.h>

namespace faultmux {

std::string fault_point::key() const {
  if (call == "process") return fmt::format("process peer={} phase={}", peer, phase);
  if (fd_class == "listener") return fmt::format("{}@listener #{}", call, n);
  if (in_worker()) return fmt::format("{}@{} self={} phase={} #{}", call, fd_class, peer, phase, n);
  if (in_context())
    return fmt::format("{}@{} self={} peer={} phase={} #{}", call, fd_class, peer, other_end, phase,
                       n);
  return fmt::format("{}@{} peer={} phase={} #{}", call, fd_class, peer, phase, n);
}

std::string fault_point::group() const {
  auto colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

int fault_point::index() const {
  auto colon = peer.rfind(':');
  if (colon == std::string::npos || peer.starts_with("context:")) return -1;
  try {
    return std::stoi(peer.substr(colon + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

std::string fault_point::class_key() const {
  fault_point p = *this;
  if (index() >= 0) p.peer = group() + ":*";
  return p.key();
}

bool fault_point::in_worker() const {
  return role == "worker" && call != "process";
}

bool fault_point::in_context() const {
  return role == "context" && call != "process";
}

std::string fault_point::faulted() const {
  return in_context() && to_child ? other_end : peer;
}

std::string fault_point::rule(const std::string& effect) const {
  if (fd_class == "listener") return fmt::format("{}@listener #{} -> {}", call, n, effect);
  // A worker's connect is counted in its process: a connect retried after
  // EAGAIN is made on a new socket, whose first call it would be again.
  if (in_worker() && phase == "connect")
    return fmt::format("{}@{} self={} phase=connect #{} -> {}", call, fd_class, peer, n, effect);
  if (in_worker())
    return fmt::format("{}@{} self={} phase={} #{} per-fd -> {}", call, fd_class, peer, phase, n,
                       effect);
  if (in_context())
    return fmt::format("{}@{} self={} peer={} phase={} #{} per-fd -> {}", call, fd_class, peer,
                       other_end, phase, n, effect);
  return fmt::format("{}@{} peer={} phase={} #{} per-fd -> {}", call, fd_class, peer, phase, n,
                     effect);
}

std::vector<std::string> trace_rules(const scenario& s) {
  std::vector<std::string> rules{"accept-like -> trace", "recv-like@accepted per-fd -> trace",
                                 "send-like@accepted per-fd -> trace"};
  const bool contexts =
      !s.contexts.empty() || std::any_of(s.workers.begin(), s.workers.end(), [](const auto& g) {
        return g.workload == worker_group::workload_t::calls;
      });
  if (contexts) {
    rules.push_back("recv-like@channel per-fd -> trace");
    rules.push_back("send-like@channel per-fd -> trace");
  }
  return rules;
}

std::vector<std::string> worker_trace_rules() {
  return {"connect -> trace", "recv-like@connecting per-fd -> trace",
          "send-like@connecting per-fd -> trace"};
}

namespace {

// A worker's own call (its shim's line names it by its FAULTMUX_PEER, "self"):
// its connect by its number in the process, its data calls by their number
// on the connection in their phase. False for a line that names no worker.
bool worker_point(const timeline_event& e, fault_point& p) {
  p.role = "worker";
  p.call = e.str("call");
  p.fd_class = e.str("fd_class");
  p.peer = e.str("self");
  p.phase = e.str("phase");
  p.n = static_cast<std::uint64_t>(p.phase == "connect" ? e.num("n", 0) : e.num("conn_n", 0));
  return p.fd_class == "connecting" && !p.peer.empty() && p.n > 0 &&
         (p.phase == "connect" || p.phase == "handshake" || p.phase == "stream");
}

// Who started each context ("mux", or the context's name), from the
// child_start lines of the mux and the contexts: a context's channel to a
// context it started leads down to that one.
std::map<std::string, std::string> starters(const timeline& tl) {
  std::map<pid_t, std::string> context_of_pid;
  std::map<std::string, std::string> out;
  for (const auto& e : tl) {
    if (e.event() != "child_start") continue;
    const std::string child = e.str("child");
    context_of_pid[static_cast<pid_t>(e.num("child_pid"))] = child;
    if (e.str("role") == "mux") {
      out[child] = "mux";
    } else if (auto it = context_of_pid.find(e.pid()); it != context_of_pid.end()) {
      out[child] = it->second;
    }
  }
  return out;
}

// A context's own call on a channel: named by the context (its "self") and
// the process at the other end (its "peer", the mux for its channel to the
// mux), numbered on that channel. False when either has no name.
bool context_point(const timeline_event& e, const std::map<std::string, std::string>& starter,
                   fault_point& p) {
  p.role = "context";
  p.call = e.str("call");
  p.fd_class = e.str("fd_class");
  p.peer = e.str("self");
  p.other_end = e.str("peer");
  p.phase = e.str("phase");
  p.n = static_cast<std::uint64_t>(e.num("conn_n", 0));
  if (p.other_end.starts_with("context:")) {
    auto it = starter.find(p.other_end.substr(8));
    p.to_child = it != starter.end() && "context:" + it->second == p.peer;
  }
  return p.fd_class == "channel" && p.peer.starts_with("context:") && !p.other_end.empty() &&
         p.other_end != "?" && p.phase == "stream" && p.n > 0;
}

}  // namespace

std::vector<fault_point> traced_points(const timeline& tl) {
  std::set<fault_point> out;
  std::map<std::pair<pid_t, std::string>, std::uint64_t> accepts;  // per process and call
  const std::map<std::string, std::string> starter = starters(tl);
  for (const auto& e : tl) {
    if (e.source != "faults" || e.event() != "fault" || e.str("effect") != "trace") continue;
    fault_point p;
    if (e.str("role") == "worker") {
      if (worker_point(e, p)) out.insert(p);
      continue;
    }
    if (e.str("role") == "context") {
      if (context_point(e, starter, p)) out.insert(p);
      continue;
    }
    p.role = e.str("role");
    p.call = e.str("call");
    p.fd_class = e.str("fd_class");
    if (p.fd_class == "listener") {
      // Counted by exact call name, as a rule naming the call counts it.
      p.peer = "-";
      p.phase = "accept";
      p.n = ++accepts[{e.pid(), p.call}];
    } else {
      p.peer = e.str("peer");
      p.phase = e.str("phase");
      p.n = static_cast<std::uint64_t>(e.num("conn_n", 0));
      if (p.peer.empty() || p.peer == "?" || p.peer == "-" || p.phase.empty() || p.n == 0) continue;
    }
    out.insert(p);
  }
  return {out.begin(), out.end()};
}

namespace {

std::vector<std::string> phases_of(worker_group::workload_t w) {
  using wl = worker_group::workload_t;
  std::vector<std::string> p{"connected", "pid-sent", "identity-received"};
  if (w == wl::echo) p.insert(p.end(), {"mid-frame:10", "awaiting-reply"});
  if (w == wl::serve) p.push_back("request-received");
  return p;
}

}  // namespace

std::vector<fault_point> process_points(const scenario& s) {
  std::vector<fault_point> out;
  for (const auto& g : s.workers) {
    using wl = worker_group::workload_t;
    if (g.workload != wl::echo && g.workload != wl::serve && g.workload != wl::connect) continue;
    for (int i = 0; i < g.count; ++i)
      for (const auto& ph : phases_of(g.workload))
        out.push_back({g.workload == wl::serve ? "server" : "worker", "process", "",
                       fmt::format("{}:{}", g.name, i), ph, 0});
  }
  return out;
}

std::vector<point_class> collapse(const std::vector<fault_point>& points) {
  std::map<std::string, point_class> by_class;
  for (const auto& p : points) {
    point_class& c = by_class[p.class_key()];
    c.members.push_back(p);
  }
  std::vector<point_class> out;
  for (auto& [k, c] : by_class) {
    std::sort(c.members.begin(), c.members.end(),
              [](const fault_point& a, const fault_point& b) { return a.index() < b.index(); });
    c.representative = c.members.front();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace faultmux
