// Historical Mitogen behaviours the mux can re-enable on purpose
// (`faultmux mux --legacy-bug NAME`), so that the suite can prove it catches
// each one. Every bug lives in exactly one branch, at the place the behaviour
// belongs, guarded by its flag here; all are off unless asked for.
#pragma once

#include <string>
#include <string_view>

namespace faultmux {

struct legacy_bugs {
  bool crash_on_eagain =
      false;                   // listener: one plain recv of the pid; an error closes the listener
  bool small_backlog = false;  // listener: listen backlog 30, whatever --backlog says
  bool epipe_crash = false;    // listener: an error sending the identity closes the listener
  bool blocking_handshake = false;  // listener: blocking handshake I/O on the broker thread
  bool accept_crash = false;        // listener: an accept() error closes the listener
  bool no_dead_message = false;     // router: an oversize body is dropped without a dead reply
  // router: a stream's disconnect sends no dead reply to whoever waits on a
  // request it received (the requester hears only DEL_ROUTE, if anything)
  bool no_dead_reply_on_disconnect = false;
  bool error_disconnect_at_debug = false;  // stream: a failed recv/send is logged at debug only
  bool no_handshake_deadline = false;      // listener: a silent client's handshake never times out
  bool no_uid_check = false;               // listener: SO_PEERCRED's uid is not compared

  // Enables the bug called `name`; false when there is no such bug.
  bool enable(std::string_view name);
  bool any() const;
  // The enabled bugs' names, comma-separated ("" when none).
  std::string enabled_names() const;
  // Every bug's name, comma-separated.
  static std::string known_names();
};

}  // namespace faultmux
