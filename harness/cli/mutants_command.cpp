// `faultmux mutants`: proves the scenarios catch each legacy bug of the mux.
#include <algorithm>
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/mutants.hpp"

namespace faultmux::cli {
namespace {

int run_mutants_command(mutants_options o, const invocation& in) {
  if (!legacy_bugs_named("mutants", "--bug", o.bugs)) return 2;
  o.verbosity = std::max(o.verbosity, in.verbosity);
  o.self = in.self;
  return run_mutants(o);
}

}  // namespace

void add_mutants_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<mutants_options>();
  auto* sub = app.add_subcommand("mutants",
                                 "prove the scenarios catch each --legacy-bug of the built-in mux");
  sub->add_option("PATH", o->paths,
                  "scenario files, or directories of *.toml (default: the checkout's "
                  "scenarios/)");
  sub->add_option("--bug", o->bugs, "only this legacy bug (repeatable; default: all)");
  sub->add_flag("-v,--verbose", o->verbosity, "keep a failed run's directory")->take_all();
  on_chosen(sub, chosen, [o](const invocation& in) { return run_mutants_command(*o, in); });
}

}  // namespace faultmux::cli
