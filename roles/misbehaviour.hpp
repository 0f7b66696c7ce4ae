// A context acting out the misbehaviour it was started with (--behave,
// faults/child_behaviour.hpp), as children in the field did. Each act logs
// `fault: behaviour SPEC` and records a "fault" event (kind "behaviour")
// before it acts, so the run knows it fired.
#pragma once

#include "faults/child_behaviour.hpp"

namespace faultmux {

class dispatcher;
class node;

// Before the context says hello: lowers its pipes (pipe=BYTES), and acts out
// a start that fails (stderr-then-exit: never returns).
void misbehave_at_start(const faults::child_behaviour& b);

// Arms the acts that happen at the context's first call, on the
// dispatcher's thread as the call starts. `channel` is the fd of its stream
// to the parent; `parent` the parent's context id.
void arm_misbehaviour(node& n, dispatcher& calls_served, int channel, std::uint32_t parent,
                      const faults::child_behaviour& b);

}  // namespace faultmux
