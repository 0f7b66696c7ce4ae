// `faultmux explore`: finds every place a single fault can land in a
// scenario (its fault points, from a traced profile run three times), injects
// each effect that makes sense there, one fault per run, judges each run by
// what its fault's class may cost, and states exactly what it covered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace faultmux {

// --pairs: a second fault within each single fault's consequences;
// --all-pairs: every two single faults (the cross product the pruning is
// checked against).
enum class pairs_mode { none, consequences, all };

struct explore_options {
  std::vector<std::string> files;  // scenarios without faults of their own
  std::string target = "builtin";  // builtin or mitogen
  std::string mitogen_src;         // a Mitogen source tree for --target mitogen
  std::vector<std::string> legacy_bugs;
  std::vector<std::string> effects;  // only these effects; empty: every one that fits
  std::string points;                // only classes whose point matches this regex; "": all
  bool all_members = false;          // every member of a point class, not only its representative
  bool first = false;                // stop at the first violation
  pairs_mode pairs = pairs_mode::none;
  bool mux_only = false;  // only the target's points: no worker calls, no worker phases
  double budget_min = 0;  // stop starting runs after this long; 0: no budget
  int jobs = 1;
  int shard = 0, shards = 1;  // explore class i when i % shards == shard
  std::string report_dir;     // results.json, found/ (default: explore-report)
  std::optional<std::uint64_t> seed;
  int profile_runs = 3;
  int reruns = 5;            // each violation's reproduction rate
  bool no_shrink = false;    // keep each violation's scenario as found, unshrunk
  std::string command_line;  // as typed, for results.json
  std::string self;
  int verbosity = 0;
};

// Exit status: 0 no violation, 1 violations (a scenario that fails with no
// fault injected is one, and is not explored further), 2 bad input or a
// scenario that cannot be explored (it has faults of its own, or cannot run),
// 130 interrupted.
int run_explore(const explore_options& o);

// K/N (K from 1) or the CI's environment (GitLab's CI_NODE_INDEX and
// CI_NODE_TOTAL; a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with
// `shards`). Sets o.shard (from 0) and o.shards; on bad input returns why.
std::optional<std::string> choose_shard(const std::string& spec, int shards_option,
                                        explore_options& o);

}  // namespace faultmux
