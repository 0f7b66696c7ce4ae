// `faultmux run`: scenarios against the built-in mux (or Mitogen), judged.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "harness/bundle.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/driver.hpp"

namespace faultmux::cli {
namespace {

void add_run_options(CLI::App* sub, driver_options& d) {
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
  sub->add_option("--report", d.report_dir,
                  "write DIR/index.html, DIR/results.json and DIR/junit.xml");
  sub->add_option(
      "--legacy-bug", d.legacy_bugs,
      legacy_bug_help("NAME: also run each scenario with this legacy bug enabled in the mux, "
                      "beside the clean run (repeatable: the bugs together)"));
  sub->add_flag("-v,--verbose", d.verbosity,
                "every oracle's evidence; keep a failed run's directory")
      ->take_all();
}

// --bundle DIR: the report goes there unless --report names another place.
void add_bundle_option(CLI::App* sub, std::string& dir) {
  sub->add_option("--bundle", dir,
                  "write what a bug report needs to DIR: the report (index.html, results.json, "
                  "junit.xml), the scenario files, rerun.sh that repeats the run exactly, and "
                  "summary.md (Expected / Actual / Evidence) to paste into an issue");
}

// After the run: the bundle, from its report. Its failure is bad output (2);
// otherwise the run's own status stands.
int finish_bundle(const driver_options& d, const std::string& dir, int status) {
  if (dir.empty() || status == 2) return status;
  if (std::string err = write_bundle(d, dir); !err.empty()) {
    std::fprintf(stderr, "faultmux run: bundle: %s\n", err.c_str());
    return 2;
  }
  std::printf("bundle: %s/summary.md, %s/rerun.sh, %s/index.html\n", dir.c_str(), dir.c_str(),
              dir.c_str());
  std::fflush(stdout);
  return status;
}

int run_run_command(driver_options d, const invocation& in, const std::string& bundle) {
  if (!legacy_bugs_named("run", "--legacy-bug", d.legacy_bugs)) return 2;
  if (!mitogen_src_usable("run", d.mitogen_src, d.with_mitogen ? "mitogen" : d.target)) return 2;
  d.verbosity = std::max(d.verbosity, in.verbosity);
  d.self = in.self;
  d.command_line = in.command_line;
  d.report_html = true;
  if (!bundle.empty() && d.report_dir.empty()) d.report_dir = bundle;
  return finish_bundle(d, bundle, run_driver(d));
}

}  // namespace

void add_run_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<driver_options>();
  auto bundle = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("run", "run scenarios against the built-in mux and judge them");
  add_run_options(sub, *o);
  add_bundle_option(sub, *bundle);
  on_chosen(sub, chosen,
            [o, bundle](const invocation& in) { return run_run_command(*o, in, *bundle); });
}

}  // namespace faultmux::cli
