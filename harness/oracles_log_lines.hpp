// Oracles that demand the mux's own record in every scenario, whatever its
// [expect] lists (harness/oracles_log_lines.cpp).
#pragma once

#include "harness/oracle_support.hpp"

namespace faultmux::oracle_support {

// Every stream the mux or a context disconnected with an errno has an error
// line of that process naming the stream (and, for a failed recv or send,
// the errno): "errors are logged" holds for every error.
oracle_result error_disconnects_logged(const run_view& rv);
// Every silent ("stall") client is ended by the mux at its handshake
// deadline (target.handshake_timeout_ms, 500 ms slack) with an error line
// naming its PID, unless it left first.
oracle_result handshake_deadlines(const run_view& rv);
// Every worker of a group run as another uid (uid/user) is refused by the
// mux's SO_PEERCRED check, with an error line naming its PID and uid; not
// applicable, saying why, when faultmux is not root.
oracle_result other_uid_refused(const run_view& rv);

}  // namespace faultmux::oracle_support
