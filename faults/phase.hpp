// Process faults at a named protocol phase: `PHASE:ACTION`, e.g.
// `pid-sent:SIGKILL` or `mid-frame:10:SIGSTOP`. The process that reaches the
// phase signals itself (raise), so the fault hits exactly that process at
// exactly that point. Parsing and matching are pure; only phase_trigger's
// reached() acts. The phase points themselves live where the code is: the
// worker and context roles call reached().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace faultmux::faults {

enum class phase : std::uint8_t {
  connected,          // worker: connect() succeeded, nothing sent yet
  pid_sent,           // worker: its 4 pid bytes are sent, the identity not yet read
  identity_received,  // worker: the 12 identity bytes are read, no frame sent yet
  mid_frame,          // worker: K bytes of a request frame are written, the rest not
  awaiting_reply,     // worker: the first request is on the wire, its reply not yet read
  request_received,   // worker: a request reached its echo handle, not yet answered
  mid_call,           // context: a call has started running, its reply not yet sent
};

enum class phase_action : std::uint8_t { sigkill, sigterm, sigstop };

// The process that can reach a phase.
enum class phase_role : std::uint8_t { worker, context };

struct phase_fault {
  phase at = phase::connected;
  std::size_t frame_bytes = 0;  // mid_frame: K
  phase_action action = phase_action::sigkill;
  friend bool operator==(const phase_fault&, const phase_fault&) = default;
};

// "pid-sent", "mid-frame" (without K).
const char* phase_name(phase p);
// "SIGKILL".
const char* action_name(phase_action a);
int action_signal(phase_action a);
phase_role role_of(phase p);
// "connected, pid-sent, identity-received, mid-frame:K, awaiting-reply,
// request-received" for a role.
std::string phases_of(phase_role r);

// The canonical text: "mid-frame:10:SIGSTOP".
std::string to_string(const phase_fault& f);

// Parses PHASE:ACTION. Phase names are exact; ACTION is SIGKILL, SIGTERM or
// SIGSTOP (the SIG prefix optional, any case). On failure returns nullopt
// and sets *error to what was wrong and what is accepted.
std::optional<phase_fault> parse_phase_fault(std::string_view text, std::string* error);

// Arms at most one phase fault and fires it once: the first time the
// process reaches the phase.
class phase_trigger {
 public:
  phase_trigger() = default;
  explicit phase_trigger(std::optional<phase_fault> f) : fault_(f) {}

  bool armed() const { return fault_.has_value() && !fired_; }
  const std::optional<phase_fault>& fault() const { return fault_; }
  // Whether reaching `p` now would fire. Pure.
  bool due(phase p) const { return armed() && fault_->at == p; }

  // The process is at phase `p`. When due: calls before(fault) (to record
  // the fault while the process can still write) and raises the signal on
  // this thread. Returns true when it fired, i.e. after SIGSTOP once resumed
  // (SIGCONT), or after SIGTERM when the process handles it; never after
  // SIGKILL.
  bool reached(phase p, const std::function<void(const phase_fault&)>& before = {});

 private:
  std::optional<phase_fault> fault_;
  bool fired_ = false;
};

}  // namespace faultmux::faults
