#include "harness/explore/effects.hpp"

#include <algorithm>

namespace faultmux {
namespace {

const std::vector<effect>& recv_effects() {
  static const std::vector<effect> e{{"EAGAIN", "transient"},  {"EINTR", "transient"},
                                     {"short 1", "transient"}, {"ECONNRESET", "hard"},
                                     {"EIO", "hard"},          {"eof", "hard"}};
  return e;
}
const std::vector<effect>& send_effects() {
  static const std::vector<effect> e{{"EAGAIN", "transient"},
                                     {"EINTR", "transient"},
                                     {"short 1", "transient"},
                                     {"EPIPE", "hard"},
                                     {"ECONNRESET", "hard"}};
  return e;
}
const std::vector<effect>& accept_effects() {
  // The shim fails the call without making it: the client stays in the
  // backlog, so even ECONNABORTED costs nobody anything.
  static const std::vector<effect> e{{"EAGAIN", "transient"},
                                     {"EINTR", "transient"},
                                     {"ECONNABORTED", "transient"},
                                     {"EMFILE", "resource"},
                                     {"ENFILE", "resource"}};
  return e;
}
// A worker's connect (roles/worker_role.cpp, through mux/connect.cpp's
// connect_unix): EINTR is retried at once and EAGAIN (a full backlog) with
// backoff, so both cost nothing; any other error is not retried, as
// Mitogen's clients do not retry it: that worker alone fails (exit 3).
const std::vector<effect>& connect_effects() {
  static const std::vector<effect> e{{"EAGAIN", "transient"},
                                     {"EINTR", "transient"},
                                     {"ECONNREFUSED", "hard"},
                                     {"ENOENT", "hard"}};
  return e;
}
const std::vector<effect>& process_effects() {
  static const std::vector<effect> e{{"SIGKILL", "hard"}, {"SIGSTOP", "stall"}};
  return e;
}

bool among(const std::string& call, std::initializer_list<const char*> names) {
  return std::any_of(names.begin(), names.end(), [&](const char* n) { return call == n; });
}

}  // namespace

// A worker's recv-like and send-like calls take the mux's effects with the
// same classes: in its handshake (connect_unix) and on its stream (the
// stream of mux/stream.cpp, as the mux's own) EINTR is retried at once,
// EAGAIN is "nothing now" (wait for readiness and try again, as Mitogen's
// io_op does) and a short transfer is continued; an error or EOF ends that
// worker's connection, and with it that worker alone (hard).
std::vector<effect> effects_for(const fault_point& p) {
  if (p.call == "process" && p.role == "server") return {process_effects().front()};
  if (p.call == "process") return process_effects();
  if (p.call == "connect") return connect_effects();
  if (among(p.call, {"accept", "accept4"})) return accept_effects();
  if (among(p.call, {"recv", "recvfrom", "recvmsg", "read", "readv"})) return recv_effects();
  if (among(p.call, {"send", "sendto", "sendmsg", "write", "writev"})) return send_effects();
  return {};
}

std::vector<std::string> effect_names() {
  std::vector<std::string> out;
  for (const auto* list : {&recv_effects(), &send_effects(), &accept_effects(), &connect_effects(),
                           &process_effects()})
    for (const auto& e : *list)
      if (std::find(out.begin(), out.end(), e.name) == out.end()) out.push_back(e.name);
  return out;
}

std::vector<effect> narrowed(const std::vector<effect>& all, const std::vector<std::string>& only) {
  if (only.empty()) return all;
  std::vector<effect> out;
  for (const auto& e : all)
    if (std::find(only.begin(), only.end(), e.name) != only.end()) out.push_back(e);
  return out;
}

}  // namespace faultmux
