// Pairs of faults (`faultmux explore --pairs`). A second fault is injected
// only where the first one's run went where no profile run went: the calls
// its consequences made (a retried recv, a second accept, a send that
// finishes a short one). Outside them the second fault meets the run as it
// was without the first, which its single-fault run already judged. First
// faults whose consequences are equal (the same new calls and the same new
// events) share their pairs: only the first of them is explored.
#pragma once

#include <cstddef>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "harness/explore/effects.hpp"
#include "harness/explore/fault_point.hpp"
#include "harness/timeline.hpp"

namespace faultmux {

// One fault of a run: an effect at a point.
struct planned_fault {
  fault_point point;
  effect fx;
};

// What a first fault's run did that no profile run did.
struct consequence {
  std::vector<fault_point> points;  // calls the profile never made
  std::set<std::string> events;     // event names the profile never showed
  // Equal for runs with the same consequences.
  std::string signature() const;
  bool empty() const { return points.empty() && events.empty(); }
};

// The names of the events of a run, other than the shim's fault lines.
std::set<std::string> event_names(const timeline& tl);

consequence consequences_of(const std::vector<fault_point>& run_points,
                            const std::set<std::string>& run_events,
                            const std::set<fault_point>& profile_points,
                            const std::set<std::string>& profile_events);

// How a run with both faults is judged: the class of the costlier one
// (hard, then resource, then stall, then transient) and the peer it may
// cost; two hard faults on two peers may cost both ("good:0,servers:1").
// Empty when a stall and another fault may each cost a different peer: one
// run cannot say who was held up by whom.
struct pair_judgement {
  std::string fault_class, faulted_peer;
};
std::optional<pair_judgement> judged_as(const planned_fault& a, const planned_fault& b);

// The full cross product of single faults: every two of them on different
// points.
std::size_t cross_product(const std::vector<planned_fault>& singles);

}  // namespace faultmux
