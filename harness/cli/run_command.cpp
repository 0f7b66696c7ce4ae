// `faultmux run`: scenarios against the built-in mux (or Mitogen), judged.
#include <algorithm>
#include <memory>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/driver.hpp"
#include "harness/soak.hpp"

namespace faultmux::cli {
namespace {

void add_run_options(CLI::App* sub, driver_options& d, double& soak_minutes) {
  sub->add_option("PATH", d.paths, "scenario files, or directories of *.toml")->required();
  sub->add_option("--seed", d.seed, "use this seed instead of each scenario's own");
  sub->add_option("--filter", d.filter, "only scenarios whose name matches this glob");
  sub->add_option("--target", d.target,
                  "builtin: each scenario's own target (default); mitogen: Mitogen (the "
                  "installed python3-mitogen, or --mitogen-src) through scenarios/mitogen_mux.py")
      ->check(CLI::IsMember({"builtin", "mitogen"}));
  add_mitogen_src_option(sub, d.mitogen_src);
  sub->add_option("--repeat", d.repeat,
                  "run each scenario N times with the same seed, to find flaky ones")
      ->check(CLI::Range(1, 10000));
  sub->add_option("--jobs", d.jobs,
                  "run N scenarios at once (each in its own run directory; timing-sensitive "
                  "scenarios may then fail on a small machine)")
      ->check(CLI::Range(1, 256));
  sub->add_flag("--with-mitogen", d.with_mitogen,
                "also run every scenario against Mitogen 0.3.3 into the same report: its results "
                "are findings and do not change the exit status");
  sub->add_option("--report", d.report_dir, "write DIR/results.json and DIR/junit.xml");
  sub->add_option("--legacy-bug", d.legacy_bugs,
                  legacy_bug_help("NAME: run the mux with this legacy bug enabled (repeatable)"));
  sub->add_option("--soak", soak_minutes,
                  "MINUTES (fractions allowed): one mux for this long under the scenario's "
                  "syscall faults, its echo and calls workers cycling; fails on growth of the "
                  "mux's RSS, fds or threads, a crash, or a lost message (docs/soak.md)")
      ->check(CLI::PositiveNumber);
  sub->add_flag("-v,--verbose", d.verbosity,
                "every oracle's evidence; keep a failed run's directory")
      ->take_all();
}

int run_run_command(driver_options d, double soak_minutes, const invocation& in) {
  if (!legacy_bugs_named("run", "--legacy-bug", d.legacy_bugs)) return 2;
  if (!mitogen_src_usable("run", d.mitogen_src, d.with_mitogen ? "mitogen" : d.target)) return 2;
  d.verbosity = std::max(d.verbosity, in.verbosity);
  d.self = in.self;
  d.command_line = in.command_line;
  return soak_minutes > 0 ? run_soak(d, soak_minutes) : run_driver(d);
}

}  // namespace

void add_run_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<driver_options>();
  auto soak = std::make_shared<double>(0);
  auto* sub = app.add_subcommand("run", "run scenarios against the built-in mux and judge them");
  add_run_options(sub, *o, *soak);
  on_chosen(sub, chosen,
            [o, soak](const invocation& in) { return run_run_command(*o, *soak, in); });
}

}  // namespace faultmux::cli
