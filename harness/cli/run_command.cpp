// `faultmux run`: scenarios against the built-in mux (or Mitogen), judged.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "harness/bundle.hpp"
#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/cli/number_checks.hpp"
#include "harness/driver.hpp"
#include "harness/install_paths.hpp"
#include "harness/soak.hpp"
#include "harness/symptom_index.hpp"

namespace faultmux::cli {
namespace {

// `run --list`: the scenarios, searched, and the symptom index written.
struct list_options {
  bool list = false;
  std::string grep;
  bool update_index = false;
};

void add_list_options(CLI::App* sub, list_options& l) {
  sub->add_flag("--list", l.list,
                "list the scenarios (name, description, origin) instead of running them; with no "
                "PATH, the built-in ones");
  sub->add_option("--grep", l.grep,
                  "with --list: only scenarios whose name, description, origin, legacy bugs or "
                  "symptom lines contain TEXT (any case), or whose symptom regexes match TEXT (a "
                  "log line pasted whole)");
  sub->add_flag("--update-index", l.update_index,
                "with --list: rewrite docs/symptoms.md of the checkout from the scenarios");
}

int write_index(const std::vector<scenario>& all) {
  const install_paths& p = own_install_paths();
  if (p.installed) {
    std::fprintf(stderr,
                 "faultmux run: --update-index rewrites a checkout's docs/symptoms.md; "
                 "this faultmux is installed\n");
    return 2;
  }
  const std::string out = (std::filesystem::path(p.data_dir) / "docs" / "symptoms.md").string();
  std::ofstream f(out, std::ios::binary);
  if (!(f << symptom_index_markdown(all)) || !f.flush()) {
    std::fprintf(stderr, "faultmux run: cannot write %s: %s\n", out.c_str(), std::strerror(errno));
    return 2;
  }
  std::printf("wrote %s (%zu scenarios)\n", out.c_str(), all.size());
  return 0;
}

int run_list(std::vector<std::string> paths, const list_options& l) {
  if (paths.empty()) paths.push_back(own_install_paths().data_dir + "/scenarios");
  std::vector<scenario> all;
  try {
    for (const auto& f : scenario_files(paths)) all.push_back(load_scenario(f));
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux run: %s\n", e.what());
    return 2;
  }
  if (l.update_index) return write_index(all);
  int shown = 0;
  for (const auto& s : all) {
    if (!l.grep.empty() && !scenario_matches(s, l.grep)) continue;
    ++shown;
    std::string text = fmt::format("{}\n  {}\n  origin: {}\n", s.name, s.description, s.origin);
    for (const auto& re : symptom_lines(s)) text += fmt::format("  log line: /{}/\n", re);
    std::fputs(text.c_str(), stdout);
  }
  if (!l.grep.empty() && shown == 0) {
    std::fprintf(stderr, "faultmux run: no scenario matches --grep \"%s\"\n", l.grep.c_str());
    return 1;
  }
  return 0;
}

void add_run_options(CLI::App* sub, driver_options& d, double& soak_minutes) {
  sub->add_option("PATH", d.paths, "scenario files, or directories of *.toml");
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
  sub->add_option("--soak", soak_minutes,
                  "MINUTES (fractions allowed): one mux for this long under the scenario's "
                  "syscall faults, its echo and calls workers cycling; fails on growth of the "
                  "mux's RSS, fds or threads, a crash, or a lost message (docs/soak.md)")
      ->check(positive);
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

int run_run_command(driver_options d, double soak_minutes, const invocation& in,
                    const std::string& bundle) {
  if (d.paths.empty()) {
    std::fprintf(stderr, "faultmux run: give scenario files or directories (or --list)\n");
    return 2;
  }
  if (!legacy_bugs_named("run", "--legacy-bug", d.legacy_bugs)) return 2;
  if (!mitogen_src_usable("run", d.mitogen_src, d.with_mitogen ? "mitogen" : d.target)) return 2;
  d.verbosity = std::max(d.verbosity, in.verbosity);
  d.self = in.self;
  d.command_line = in.command_line;
  if (soak_minutes > 0) return run_soak(d, soak_minutes);
  d.report_html = true;
  if (!bundle.empty() && d.report_dir.empty()) d.report_dir = bundle;
  return finish_bundle(d, bundle, run_driver(d));
}

}  // namespace

void add_run_command(CLI::App& app, runner& chosen) {
  auto o = std::make_shared<driver_options>();
  auto l = std::make_shared<list_options>();
  auto soak = std::make_shared<double>(0);
  auto bundle = std::make_shared<std::string>();
  auto* sub = app.add_subcommand("run", "run scenarios against the built-in mux and judge them");
  add_run_options(sub, *o, *soak);
  add_list_options(sub, *l);
  add_bundle_option(sub, *bundle);
  on_chosen(sub, chosen, [o, l, soak, bundle](const invocation& in) {
    if (l->list) return run_list(o->paths, *l);
    if (!l->grep.empty() || l->update_index) {
      std::fprintf(stderr, "faultmux run: --grep and --update-index go with --list\n");
      return 2;
    }
    return run_run_command(*o, *soak, in, *bundle);
  });
}

}  // namespace faultmux::cli
