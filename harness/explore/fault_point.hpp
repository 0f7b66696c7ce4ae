// Fault points: the places a single fault can land in a run, named so that
// a rule hits exactly that place again in another run. A call of the mux is
// named by its peer (the worker behind the connection, from the shim's
// trace), its phase on that connection and its occurrence there, never by fd
// number or a global count, which drift with scheduling; a worker's own call
// by the worker itself (its FAULTMUX_PEER), the phase of its connection to
// the mux and the occurrence there. A worker's protocol phases are points
// too, for process faults.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "harness/scenario.hpp"
#include "harness/timeline.hpp"

namespace faultmux {

struct fault_point {
  // The process the fault lands in: "mux"; "worker" for a worker's own
  // call; for a process fault "worker", or "server" (a worker others send
  // to: stopping it holds them up by design).
  std::string role = "mux";
  std::string call;      // "recv", "accept4", "connect"; "process" for a process fault
  std::string fd_class;  // "accepted", "listener", "connecting"; "" for a process fault
  // The worker at the other end of a mux's call ("good:3"; "-" for the
  // listener's accepts); the worker itself for a worker's call or phase.
  std::string peer;
  std::string phase;  // "handshake", "stream", "accept", "connect"; a worker phase ("pid-sent")
  std::uint64_t n =
      0;  // occurrence on its connection in its phase (accepts, connects: in the process)

  // "recv@accepted peer=good:3 phase=stream #2", "connect@connecting self=good:3
  // phase=connect #1", "process peer=good:3 phase=pid-sent".
  std::string key() const;
  // A call the worker makes itself: its rule goes to the workers (in = "workers").
  bool in_worker() const;
  // The peer's group ("good"); the peer itself when it has no index.
  std::string group() const;
  // -1 when the peer has no index.
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
// probe, for one); and every traced call of a worker on its connection to
// the mux (lines of role "worker", named by their "self").
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

// The shim rules that trace every call of the target a fault can land on.
std::vector<std::string> trace_rules();
// The same for the workers' calls on their connection to the mux.
std::vector<std::string> worker_trace_rules();

}  // namespace faultmux
