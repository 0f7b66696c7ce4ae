// Oracles that need no written expectations: what one fault may cost, from
// its class alone. `faultmux explore` judges each of its runs with them, and
// a scenario it writes ([expect] fault_class) is judged by them under
// `faultmux run` too.
//   transient (EAGAIN, EINTR, a short transfer, a bounded SIGSTOP): invisible.
//   hard (ECONNRESET, EPIPE, EIO, EOF, SIGKILL; a worker's connect refused):
//     contained to its peer, which may fail (a worker failed at its own
//     connect never reached the mux: nothing is owed for it).
//   resource (EMFILE, ENFILE, ENOBUFS): survived, logged, later clients served.
//   stall (a worker SIGSTOPped at a phase, then resumed): invisible, and
//     nobody else held up while it was stopped.
// And always: the mux finishes, exits cleanly, leaves nothing behind, its
// listener answers, and the planned fault fired.
#pragma once

#include <string>
#include <vector>

#include "harness/oracles.hpp"

namespace faultmux {

// The oracles of s.expect.fault_class, in the order a failure is reported.
std::vector<oracle_result> judge_single_fault(const scenario& s, const timeline& tl,
                                              const run_outcome& o);

}  // namespace faultmux
