#include "faults/phase.hpp"

#include <signal.h>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace faultmux::faults {
namespace {

struct phase_entry {
  const char* name;
  phase p;
  phase_role role;
};
constexpr phase_entry phases[] = {
    {"connected", phase::connected, phase_role::worker},
    {"pid-sent", phase::pid_sent, phase_role::worker},
    {"identity-received", phase::identity_received, phase_role::worker},
    {"mid-frame", phase::mid_frame, phase_role::worker},
    {"awaiting-reply", phase::awaiting_reply, phase_role::worker},
    {"request-received", phase::request_received, phase_role::worker},
    {"mid-call", phase::mid_call, phase_role::context},
};

constexpr const char* actions_expected = "SIGKILL, SIGTERM or SIGSTOP";

std::string upper(std::string_view s) {
  std::string u(s);
  std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return std::toupper(c); });
  return u;
}

}  // namespace

const char* phase_name(phase p) {
  for (const auto& e : phases)
    if (e.p == p) return e.name;
  return "?";
}

const char* action_name(phase_action a) {
  switch (a) {
    case phase_action::sigkill:
      return "SIGKILL";
    case phase_action::sigterm:
      return "SIGTERM";
    case phase_action::sigstop:
      return "SIGSTOP";
  }
  return "?";
}

int action_signal(phase_action a) {
  switch (a) {
    case phase_action::sigkill:
      return SIGKILL;
    case phase_action::sigterm:
      return SIGTERM;
    case phase_action::sigstop:
      return SIGSTOP;
  }
  return 0;
}

phase_role role_of(phase p) {
  for (const auto& e : phases)
    if (e.p == p) return e.role;
  return phase_role::worker;
}

std::string phases_of(phase_role r) {
  std::string out;
  for (const auto& e : phases) {
    if (e.role != r) continue;
    if (!out.empty()) out += ", ";
    out += e.name;
    if (e.p == phase::mid_frame) out += ":K";
  }
  return out;
}

std::string to_string(const phase_fault& f) {
  std::string s = phase_name(f.at);
  if (f.at == phase::mid_frame) s += ":" + std::to_string(f.frame_bytes);
  return s + ":" + action_name(f.action);
}

std::optional<phase_fault> parse_phase_fault(std::string_view text, std::string* error) {
  auto fail = [&](std::string why) -> std::optional<phase_fault> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fail("expected PHASE:ACTION (e.g. pid-sent:SIGKILL), got \"" + std::string(text) + "\"");
  std::string_view name = text.substr(0, colon);
  std::string_view rest = text.substr(colon + 1);
  const phase_entry* found = nullptr;
  for (const auto& e : phases)
    if (name == e.name) found = &e;
  if (!found)
    return fail("unknown phase \"" + std::string(name) + "\": use one of " +
                phases_of(phase_role::worker) + " (worker) or " + phases_of(phase_role::context) +
                " (context)");
  phase_fault f;
  f.at = found->p;
  if (f.at == phase::mid_frame) {
    auto k_end = rest.find(':');
    std::string_view k = rest.substr(0, k_end);
    std::size_t bytes = 0;
    auto [ptr, ec] = std::from_chars(k.data(), k.data() + k.size(), bytes);
    if (k.empty() || ec != std::errc() || ptr != k.data() + k.size() || bytes == 0)
      return fail(
          "mid-frame needs a byte count K of at least 1: mid-frame:K:ACTION (e.g. "
          "mid-frame:10:SIGKILL), got \"" +
          std::string(text) + "\"");
    f.frame_bytes = bytes;
    if (k_end == std::string_view::npos)
      return fail("expected mid-frame:K:ACTION, got \"" + std::string(text) + "\"");
    rest = rest.substr(k_end + 1);
  }
  std::string action = upper(rest);
  if (action.rfind("SIG", 0) != 0) action = "SIG" + action;
  if (action == "SIGKILL")
    f.action = phase_action::sigkill;
  else if (action == "SIGTERM")
    f.action = phase_action::sigterm;
  else if (action == "SIGSTOP")
    f.action = phase_action::sigstop;
  else
    return fail("unknown action \"" + std::string(rest) + "\": use " + actions_expected);
  return f;
}

bool phase_trigger::reached(phase p, const std::function<void(const phase_fault&)>& before) {
  if (!due(p)) return false;
  fired_ = true;
  if (before) before(*fault_);
  // raise() signals the calling thread: the fault lands in this process,
  // at this point, whatever other threads are doing.
  ::raise(action_signal(fault_->action));
  return true;
}

}  // namespace faultmux::faults
