#include "harness/repro/ranking.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace faultmux::repro {
namespace {

bool has(const signature& sig, const std::string& cls) {
  return std::any_of(sig.hits.begin(), sig.hits.end(),
                     [&](const error_hit& h) { return h.cls == cls; });
}

// The effect names that mean the errno (or EOF, short read) of a failed call.
bool same_error(const effect& fx, const std::string& err) {
  if (err == "EOF") return fx.name == "eof";
  if (err == "short") return fx.name.rfind("short", 0) == 0;
  if (err == "EWOULDBLOCK") return fx.name == "EAGAIN";
  return fx.name == err;
}

// True when the mux's lines name a handshake failure with this errno: a
// crash on the same errno is then most likely that call's, not a stream's.
bool handshake_errno(const signature& sig, const std::string& err) {
  return std::any_of(sig.hits.begin(), sig.hits.end(), [&](const error_hit& h) {
    return h.from == side::mux && h.err == err &&
           (h.cls == "identity send failed" || h.cls == "identity read failed");
  });
}

}  // namespace

std::string candidate::what() const {
  if (faults.empty()) return "the base scenario alone";
  std::string out;
  for (const auto& f : faults)
    out += fmt::format("{}{} at {}", out.empty() ? "" : ", then ", f.fx.name, f.point.key());
  return out;
}

std::vector<failed_call> wanted_calls(const signature& sig) {
  if (!sig.calls.empty()) return sig.calls;
  std::vector<failed_call> out;
  for (const auto& h : sig.hits) {
    const std::string e = h.err;
    if (h.from == side::mux && h.cls == "identity read failed") {
      if (!e.empty()) out.push_back({"recv", e, "accepted", "pid read", true});
      if (e.empty() || e == "EOF") {
        out.push_back({"recv", "EOF", "accepted", "pid read", true});
        out.push_back({"recv", "short", "accepted", "pid read", true});
      }
    } else if (h.from == side::mux && h.cls == "identity send failed") {
      out.push_back({"send", e.empty() ? "EPIPE" : e, "accepted", "identity send", true});
    } else if (h.from == side::mux && h.cls == "accept failed") {
      out.push_back({"accept", e.empty() ? "EMFILE" : e, "listener", "accept", true});
    } else if (h.from == side::mux && h.cls == "stream disconnected" && !e.empty()) {
      out.push_back({e == "EPIPE" ? "send" : "recv", e, "accepted", "routing", true});
    } else if (h.from == side::client && h.cls == "connect failed" && !e.empty() &&
               e != "ECONNREFUSED" && e != "ECONNRESET") {
      out.push_back({"connect", e, "connecting", "connect", true});
    } else if (h.from == side::mux && h.cls == "crash" && !e.empty() && !handshake_errno(sig, e)) {
      // A crash on an errno: the listener's accept for a resource error, else a connection's.
      if (e == "EMFILE" || e == "ENFILE")
        out.push_back({"accept", e, "listener", "accept", true});
      else
        out.push_back({e == "EPIPE" ? "send" : "recv", e, "accepted", "routing", true});
    } else if (h.from == side::client && h.cls == "connection lost" && !e.empty()) {
      out.push_back({"recv", e, "connecting", "routing", true});
    }
  }
  return out;
}

double closeness(const fault_point& p, const effect& fx, const std::vector<failed_call>& wanted,
                 const signature& sig) {
  double best = 0;
  if (p.call == "process") {
    // A client that stops or dies at a phase: what a hang, or a read of
    // nothing at all in the handshake, looks like from the mux.
    if (fx.name == "SIGSTOP" && (has(sig, "hang") || has(sig, "identity read failed")))
      best = p.phase == "connected" ? 7 : 3;
    // Clients that gave up on their handshake: something held the listener up.
    if (fx.name == "SIGSTOP" && sig.connect_timeout_ms > 0 && p.phase == "connected") best = 18;
    if (fx.name == "SIGKILL" && (has(sig, "identity read failed") || has(sig, "dead reply")))
      best = p.phase == "connected" ? 6 : 2;
    // Clients left waiting: a server that died or stopped with their request.
    if (has(sig, "hang") && p.role == "server")
      best = std::max(best, p.phase == "request-received" ? 6.0 : 2.0);
  }
  for (const auto& w : wanted) {
    if (p.call == "process" || call_family(p.call) != call_family(w.call)) continue;
    double s = 4;
    if (same_error(fx, w.err))
      s += 8;
    else if (fx.fault_class == "hard" && (w.err == "EOF" || w.err.empty()))
      s += 2;
    if (p.phase == point_phase(w.phase) || (w.phase == "accept" && p.fd_class == "listener"))
      s += 3;
    if (p.fd_class == w.fd_class) s += 2;
    best = std::max(best, s);
  }
  // The nearest occurrence first: the failing region's first call, then its neighbours.
  return best - 0.05 * static_cast<double>(std::min<std::uint64_t>(p.n, 20));
}

std::vector<candidate> ranked_singles(const std::vector<fault_point>& points,
                                      const signature& sig) {
  const auto wanted = wanted_calls(sig);
  std::vector<candidate> out;
  for (const auto& c : collapse(points))
    for (const auto& fx : effects_for(c.representative))
      out.push_back({{{c.representative, fx}}, closeness(c.representative, fx, wanted, sig)});
  std::stable_sort(out.begin(), out.end(),
                   [](const candidate& a, const candidate& b) { return a.score > b.score; });
  return out;
}

std::vector<candidate> pairs_around(const std::vector<candidate>& singles, std::size_t around,
                                    std::size_t with) {
  std::vector<candidate> out;
  for (std::size_t i = 0; i < std::min(around, singles.size()); ++i)
    for (std::size_t j = i + 1; j < std::min(with, singles.size()); ++j) {
      const planned_fault& a = singles[i].faults.front();
      const planned_fault& b = singles[j].faults.front();
      // A stall beside a hard fault on another peer cannot be judged by one
      // run, but may be what happened: it is tried all the same.
      if (a.point.key() == b.point.key()) continue;
      out.push_back({{a, b}, singles[i].score + singles[j].score});
    }
  std::stable_sort(out.begin(), out.end(),
                   [](const candidate& a, const candidate& b) { return a.score > b.score; });
  return out;
}

}  // namespace faultmux::repro
