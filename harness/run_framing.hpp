// What a run could not do, said first: the groups it never started in full
// and the declared faults that never fired.
#pragma once

#include <map>
#include <set>
#include <string>

#include "harness/driver.hpp"
#include "harness/report_timeline.hpp"
#include "harness/scenario.hpp"

namespace faultmux {

// Judges `missing` (the groups of `s` that did not start in full) as the
// oracle "workers started", first, with a notice per group. A harness error,
// unless the target itself kept every one of them out (`by_target`: their
// peers failed its handshake), which fails the run. Explore's one-fault
// runs (`fault_class`) count either as a run that could not be judged.
void judge_started(scenario_result& r, const scenario& s,
                   const std::map<std::string, not_started_group>& missing,
                   const std::set<std::string>& by_target);

// A declared fault that never fired is said first, not only among the expectations.
void add_unfired_faults(scenario_result& r);

}  // namespace faultmux
