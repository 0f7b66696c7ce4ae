// Fault points: the places a single fault can land in a run, named so that
// a rule hits exactly that place again in another run. A call of the mux is
// named by its peer (the worker behind the connection, or the context at
// the other end of a channel, from the shim's trace), its phase on that
// connection and its occurrence there, never by fd number or a global
// count, which drift with scheduling; a worker's own call by the worker
// itself (its FAULTMUX_PEER), the phase of its connection to the mux and
// the occurrence there; a context's own call on a channel by the context
// (context:NAME) and the process at the channel's other end. A worker's
// protocol phases are points too, for process faults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "harness/scenario.hpp"
#include "harness/timeline.hpp"

namespace faultmux {

struct fault_point {
  fault_point() = default;
  // Every field but a context's own call's, which the last two are for.
  fault_point(std::string role, std::string call, std::string fd_class, std::string peer,
              std::string phase, std::uint64_t n, std::string other_end = "", bool to_child = false)
      : role(std::move(role)),
        call(std::move(call)),
        fd_class(std::move(fd_class)),
        peer(std::move(peer)),
        phase(std::move(phase)),
        n(n),
        other_end(std::move(other_end)),
        to_child(to_child) {}

  // The process the fault lands in: "mux"; "worker" for a worker's own
  // call; "context" for a context's own call; for a process fault "worker",
  // or "server" (a worker others send to: stopping it holds them up by
  // design).
  std::string role = "mux";
  std::string call;  // "recv", "accept4", "connect"; "process" for a process fault
  // "accepted", "listener", "connecting", "channel"; "" for a process fault
  std::string fd_class;
  // The worker at the other end of a mux's call ("good:3"; "-" for the
  // listener's accepts), or the context at the other end of its channel
  // ("context:a"); the worker or context itself for its own call or phase.
  std::string peer;
  std::string phase;  // "handshake", "stream", "accept", "connect"; a worker phase ("pid-sent")
  std::uint64_t n =
      0;  // occurrence on its connection in its phase (accepts, connects: in the process)
  // A context's own call: the process at the other end of its channel
  // ("mux"), and whether that is a context it started (the channel leads
  // down to it) rather than its parent.
  std::string other_end;
  bool to_child = false;

  // "recv@accepted peer=good:3 phase=stream #2", "connect@connecting self=good:3
  // phase=connect #1", "recv@channel peer=context:a phase=stream #1",
  // "send@channel self=context:a peer=mux phase=stream #2", "process
  // peer=good:3 phase=pid-sent".
  std::string key() const;
  // A call the worker makes itself: its rule goes to the workers (in = "workers").
  bool in_worker() const;
  // A call a context makes itself: its rule goes to the mux, whose contexts
  // inherit its rules, and is kept by that context alone (self=).
  bool in_context() const;
  // Whom a hard fault here may cost: the peer, except for a context's own
  // call on its channel to a context it started, which cuts that one off.
  std::string faulted() const;
  // The peer's group ("good"); the peer itself when it has no index.
  std::string group() const;
  // -1 when the peer has no index; a context ("context:NAME") has none: each
  // is its own class, named by the scenario, not a member of a group.
  int index() const;
  // key() with the peer's index left out: the points that differ only by
  // which of a group's identical workers they hit.
  std::string class_key() const;
  // The shim rule that injects `effect` at exactly this point.
  std::string rule(const std::string& effect) const;
  friend bool operator<(const fault_point& a, const fault_point& b) { return a.key() < b.key(); }
};

// Every traced call of the target in a profile run's timeline (the shim's
// "trace" lines with their peer, phase and per-connection count), except
// calls on connections whose peer the shim could not name (the driver's
// probe, for one); every traced call of a context on a channel (lines of
// role "context", named by their "self" and "peer"); and every traced call
// of a worker on its connection to the mux (lines of role "worker", named
// by their "self").
std::vector<fault_point> traced_points(const timeline& tl);

// The protocol phases each worker of the scenario passes, as points for
// process faults (SIGKILL at that phase).
std::vector<fault_point> process_points(const scenario& s);

// Points that differ only by which member of a group they hit.
struct point_class {
  fault_point representative;  // the member of the lowest index
  std::vector<fault_point> members;
};
std::vector<point_class> collapse(const std::vector<fault_point>& points);

// The shim rules that trace every call of the target a fault can land on:
// the mux's and, as its contexts inherit them, the contexts' on channels
// (only for a scenario that starts contexts: a rule that never fires fails
// the run's `faults fired`).
std::vector<std::string> trace_rules(const scenario& s);
// The same for the workers' calls on their connection to the mux.
std::vector<std::string> worker_trace_rules();

}  // namespace faultmux
