// Where a role reaches a named phase (faults/phase.hpp): records the phase
// fault in the process's events, then lets the trigger signal the process.
#pragma once

#include "faults/phase.hpp"
#include "mux/connect.hpp"

namespace faultmux {

// At phase p: when t is due, emits a "fault" event (and flushes the log), then
// raises the signal; if the process goes on afterwards (SIGCONT after
// SIGSTOP, a handled SIGTERM) emits "fault_continued".
void at_phase(faults::phase_trigger& t, faults::phase p);

// The phase a connect_unix observer reports.
faults::phase phase_of(connect_phase p);

}  // namespace faultmux
