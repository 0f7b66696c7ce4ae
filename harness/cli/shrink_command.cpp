// `faultmux shrink`: a failing scenario reduced to what it needs to fail.
#include <algorithm>
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/shrink.hpp"

namespace faultmux::cli {
namespace {

int run_shrink_command(shrink_options o, const invocation& in) {
  if (!legacy_bugs_named("shrink", "--legacy-bug", o.legacy_bugs)) return 2;
  if (!mitogen_src_usable("shrink", o.mitogen_src, o.target)) return 2;
  o.verbosity = std::max(o.verbosity, in.verbosity);
  o.self = in.self;
  return run_shrink(o);
}

}  // namespace

void add_shrink_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<shrink_options>();
  auto* sub = app.add_subcommand(
      "shrink",
      "reduce a failing scenario to fewer faults, workers and smaller settings that still fail");
  sub->add_option("FILE", o->file, "the failing scenario file")->required();
  sub->add_option("--seed", o->seed, "use this seed instead of the scenario's own");
  sub->add_option("--legacy-bug", o->legacy_bugs,
                  legacy_bug_help("NAME: run the mux with this legacy bug enabled (repeatable)"));
  sub->add_option("--target", o->target,
                  "builtin: the scenario's own target (default); mitogen: Mitogen (the "
                  "installed python3-mitogen, or --mitogen-src)")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  add_mitogen_src_option(sub, o->mitogen_src);
  sub->add_option("--out", o->out,
                  "write the result here (default: <name>-shrunk.toml beside FILE)");
  sub->add_flag("-v,--verbose", o->verbosity, "keep a failed run's directory")->take_all();
  on_chosen(sub, chosen, [o](const invocation& in) { return run_shrink_command(*o, in); });
}

}  // namespace faultmux::cli
