// `faultmux repro`: from a field failure's evidence to a scenario that
// reproduces it.
#include <algorithm>
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/repro/repro.hpp"

namespace faultmux::cli {
namespace {

int run_repro_command(repro::repro_options o, const invocation& in) {
  if (!legacy_bugs_named("repro", "--legacy-bug", o.legacy_bugs)) return 2;
  if (!mitogen_src_usable("repro", o.mitogen_src, o.target)) return 2;
  o.verbosity = std::max(o.verbosity, in.verbosity);
  o.self = in.self;
  return repro::run_repro(o);
}

}  // namespace

void add_repro_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<repro::repro_options>();
  auto* sub =
      app.add_subcommand("repro",
                         "from a field failure's evidence (strace -f of the mux, its log, events, "
                         "results.json, client errors) to a scenario that reproduces it");
  sub->footer(
      "Each EVIDENCE file is recognised by its content (say which kind it was taken as). The "
      "failure's signature (error-line classes on the mux and the clients, failed calls with "
      "errno, fd class and phase, clients) is printed; a base scenario like the evidence's "
      "workload is profiled with explore's fault points, which are tried closest first, then "
      "pairs. A candidate that reproduces the signature 9 times in 10 is shrunk and written. "
      "Exit status: 0 written; 1 not reproduced within the budget (nothing written); 2 bad "
      "input (unrecognised or empty evidence, no error and no failure in it); 130 interrupted.");
  sub->add_option("EVIDENCE", o->evidence, "the failure's evidence files")->required();
  sub->add_option("--target", o->target,
                  "builtin: the built-in mux (default); mitogen: Mitogen (the installed "
                  "python3-mitogen, or --mitogen-src)")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  add_mitogen_src_option(sub, o->mitogen_src);
  sub->add_option("--legacy-bug", o->legacy_bugs,
                  legacy_bug_help("NAME: run the mux with this legacy bug enabled (repeatable)"));
  sub->add_option("--scenario", o->scenario,
                  "BASE.toml: search in this scenario (without faults of its own) instead of one "
                  "built from the evidence");
  sub->add_option("--good", o->good,
                  "FILE: evidence of a good run; only lines new in the failure's count");
  sub->add_option("--budget-min", o->budget_min, "stop starting candidates after N minutes")
      ->capture_default_str()
      ->check(positive);
  sub->add_option("--jobs", o->jobs, "candidates run at once")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  sub->add_option("--out", o->out,
                  "write the scenario here (default: scenarios/found/<name>.toml)");
  sub->add_flag("--no-shrink", o->no_shrink, "write the reproducing scenario as found");
  sub->add_flag("-v,--verbose", o->verbosity, "say each candidate that matched once")->take_all();
  on_chosen(sub, chosen, [o](const invocation& in) { return run_repro_command(*o, in); });
}

}  // namespace faultmux::cli
