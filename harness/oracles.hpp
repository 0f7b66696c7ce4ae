// Oracles: what a scenario requires of a run, each a pure function of the
// scenario, the run's timeline and what the driver saw of its processes
// (exit statuses, the probe, what was left behind). Each gives a verdict and
// the evidence lines a person needs to see why.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/scenario.hpp"
#include "harness/timeline.hpp"
#include "reports/results.hpp"
#include "reports/verdict.hpp"

namespace faultmux {

using reports::is_failure;
using reports::verdict;
using reports::verdict_name;

struct oracle_result {
  std::string name;
  verdict v = verdict::pass;
  std::vector<std::string> evidence;
};

// One process the driver started.
struct process_record {
  std::string name;   // "mux", "worker-good-3": its events file is <name>.events
  std::string group;  // the worker group; "" for the mux
  pid_t pid = -1;
  std::optional<int> status;  // wait status; nullopt when it was never reaped
};

// What the driver saw besides the timeline.
struct run_outcome {
  std::vector<process_record> processes;  // the mux first
  bool probe_ok = false;
  std::string probe_detail;  // what the probe did or where it failed
  pid_t probe_pid = -1;      // the pid the probe clients sent (the driver's)
  bool socket_left = false;  // the mux's socket file exists after its exit
  // Processes of the run alive or unreaped at the end, with their state.
  std::vector<std::string> leftovers;
  // Set when the scenario's timeout hit: what was still running, its
  // /proc state and wchan (the driver then killed and reaped it).
  std::vector<std::string> hang;
  long mux_peak_rss_kib = -1;  // VmHWM just before SIGTERM; -1 unknown
  // The mux is an external target (Mitogen): its events come from its log
  // lines, so what only faultmux's mux records ("disconnect" events, the
  // ContextService) cannot be judged and is reported not applicable.
  bool external_target = false;
  std::string target_name = "builtin";        // "builtin", "mitogen", "external", "fake-listener"
  std::string socket_path;                    // the target's
  std::map<pid_t, std::string> stderr_tails;  // second-mux workers' last stderr lines
  // expect.target_dies: the target had ended before the driver stopped it,
  // and the errno of the probe's connect (0: it connected, or no probe).
  bool target_gone_before_stop = false;
  int probe_errno = 0;
};

// An oracle: one property of a finished run, judged.
using oracle_fn = oracle_result(const scenario& s, const timeline& tl, const run_outcome& o);

// The oracles, in the order a failure is reported.
extern oracle_fn* const oracle_finished;
extern oracle_fn* const oracle_errors_logged;
extern oracle_fn* const oracle_no_unexpected_errors;
extern oracle_fn* const oracle_nothing_lost;
// Every call of each group [expect] calls names ended as it says, within its bound.
extern oracle_fn* const oracle_calls;
extern oracle_fn* const oracle_outcomes;
extern oracle_fn* const oracle_listener_alive;
extern oracle_fn* const oracle_faults_fired;
extern oracle_fn* const oracle_disconnected_groups;
extern oracle_fn* const oracle_clean_exit;
extern oracle_fn* const oracle_resources;

// One plain line of what happened in a run that did not pass, from the
// report's outcome counts (`rows`), the workers' failed connects and the
// probe, then the expectations that failed: "1 of 40 workers could not
// connect (EAGAIN at connect); 0 lost after connecting; the listener
// survived; failed: nothing lost".
std::string run_headline(const reports::timeline_info& rows, const timeline& tl,
                         const run_outcome& o, bool target_dies,
                         const std::vector<oracle_result>& oracles);

// Every oracle above, in that order, then those of harness/oracles_log_lines.hpp
// (error disconnects logged, handshake deadlines, other uid refused).
std::vector<oracle_result> judge(const scenario& s, const timeline& tl, const run_outcome& o);

// The groups whose calls the target cannot serve (it has no
// faultmux.ContextService: an external target such as Mitogen). A scenario
// with such a group that fails nothing is "not applicable", not a pass.
std::vector<std::string> unserved_call_groups(const scenario& s, const run_outcome& o);
// The first failed oracle, or nullptr when none failed.
const oracle_result* first_failure(const std::vector<oracle_result>& results);
// A run's verdict: error when it could not be run or judged (`could_not_run`:
// its setup failed or it was interrupted), fail when an oracle failed, not
// applicable when nothing failed but `unserved` groups' calls could not be
// judged, else pass.
verdict run_verdict(bool could_not_run, const std::vector<oracle_result>& results,
                    bool unserved = false);

// Groups whose own processes are meant to misbehave or be hit: hostile
// groups, groups with fault_at, groups a signal fault targets, groups whose
// outcome [[expect.outcomes]] declares (that oracle judges them).
bool group_is_faulted(const scenario& s, const std::string& group);

}  // namespace faultmux
