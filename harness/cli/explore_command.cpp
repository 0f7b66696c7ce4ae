// `faultmux explore`: every single fault point of a scenario, injected one at
// a time and judged.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <regex>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/explore/effects.hpp"
#include "harness/explore/explore.hpp"

namespace faultmux::cli {
namespace {

struct explore_args {
  explore_options o;
  bool pairs = false, all_pairs = false;
  std::string shard;
  int shards = 0;
};

int run_explore_command(explore_args a, const invocation& in) {
  if (!legacy_bugs_named("explore", "--legacy-bug", a.o.legacy_bugs)) return 2;
  if (!mitogen_src_usable("explore", a.o.mitogen_src, a.o.target)) return 2;
  for (const auto& e : a.o.effects) {
    auto names = effect_names();
    if (std::find(names.begin(), names.end(), e) == names.end()) {
      std::fprintf(stderr, "faultmux explore: --effects: unknown effect %s; known: %s\n", e.c_str(),
                   fmt::format("{}", fmt::join(names, ", ")).c_str());
      return 2;
    }
  }
  try {
    std::regex check(a.o.points);
  } catch (const std::regex_error& e) {
    std::fprintf(stderr,
                 "faultmux explore: --points %s: not a regular expression (%s); e.g. "
                 "'phase=handshake' or '^send'\n",
                 a.o.points.c_str(), e.what());
    return 2;
  }
  if (auto bad = choose_shard(a.shard, a.shards, a.o)) {
    std::fprintf(stderr, "faultmux explore: %s\n", bad->c_str());
    return 2;
  }
  if (a.pairs && a.all_pairs) {
    std::fprintf(stderr, "faultmux explore: --pairs and --all-pairs: choose one\n");
    return 2;
  }
  a.o.pairs = a.all_pairs ? pairs_mode::all : a.pairs ? pairs_mode::consequences : pairs_mode::none;
  a.o.verbosity = std::max(a.o.verbosity, in.verbosity);
  a.o.self = in.self;
  a.o.command_line = in.command_line;
  return run_explore(a.o);
}

}  // namespace

void add_explore_command(CLI::App& app, runner& chosen) {
  auto a = std::make_shared<explore_args>();
  explore_options& o = a->o;
  auto* sub = app.add_subcommand(
      "explore",
      "inject every single fault point of a scenario, one fault per run, and judge each run");
  sub->add_option("SCENARIO", o.files, "scenario files or directories (scenarios without faults)")
      ->required();
  sub->add_option("--target", o.target, "builtin (default) or mitogen (Mitogen 0.3.3)")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  add_mitogen_src_option(sub, o.mitogen_src);
  sub->add_option("--legacy-bug", o.legacy_bugs,
                  legacy_bug_help("NAME: run the mux with this legacy bug enabled (repeatable)"));
  sub->add_option(
         "--effects", o.effects,
         fmt::format("only these effects (comma-separated): {}", fmt::join(effect_names(), ", ")))
      ->delimiter(',');
  sub->add_option("--points", o.points,
                  "REGEX: only the point classes whose point matches it (e.g. 'phase=handshake', "
                  "'^accept'); the certificate's bound says so");
  sub->add_flag("--all-members", o.all_members,
                "inject every member of a point class, not only its representative");
  sub->add_flag("--mux-only", o.mux_only,
                "only the target's own call points (no fault in the workers: neither their "
                "own calls nor SIGKILL/SIGSTOP at their phases)");
  sub->add_flag("--pairs", a->pairs,
                "then a second fault at each call a passing single fault's consequences made "
                "(a retry, a reconnect), once per distinct consequence");
  sub->add_flag("--all-pairs", a->all_pairs,
                "then every two single faults on different points (the full cross product: "
                "slow; for checking what --pairs prunes)");
  sub->add_flag("--first", o.first, "stop at the first violation (a CI gate)");
  sub->add_option("--budget-min", o.budget_min,
                  "start no run after this many minutes; the certificate says what was left")
      ->check(positive);
  sub->add_option("--jobs", o.jobs, "runs at once (default 1)")->check(CLI::Range(1, 64));
  sub->add_option("--shard", a->shard,
                  "K/N: explore a deterministic 1/N of the point classes (default: from "
                  "CI_NODE_INDEX/CI_NODE_TOTAL when set)");
  sub->add_option("--shards", a->shards,
                  "N, with JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) as the shard")
      ->check(positive);
  sub->add_option("--report", o.report_dir,
                  "write results.json (its explore section), explore-<scenario>.html and "
                  ".junit.xml, and found/ here (default: explore-report)");
  sub->add_option("--seed", o.seed, "use this seed instead of each scenario's own");
  sub->add_option("--profile-runs", o.profile_runs,
                  "traced runs whose common points are explored (default 3)")
      ->check(CLI::Range(1, 20));
  sub->add_option("--reruns", o.reruns, "reruns of each violation's scenario (default 5)")
      ->check(CLI::Range(0, 100));
  sub->add_flag("--no-shrink", o.no_shrink,
                "do not shrink each violation's scenario to found/<name>-shrunk.toml (a CI gate "
                "that only wants the verdict)");
  on_chosen(sub, chosen, [a](const invocation& in) { return run_explore_command(*a, in); });
}

}  // namespace faultmux::cli
