// `faultmux run`: scenarios against the built-in mux (or Mitogen), judged.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "harness/cli/commands.hpp"
#include "harness/cli/legacy_bug_option.hpp"
#include "harness/cli/mitogen_src_option.hpp"
#include "harness/driver.hpp"
#include "harness/install_paths.hpp"
#include "harness/symptom_index.hpp"
#include "harness/soak.hpp"

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
  if (d.paths.empty()) {
    std::fprintf(stderr, "faultmux run: give scenario files or directories (or --list)\n");
    return 2;
  }
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
  auto l = std::make_shared<list_options>();
  auto soak = std::make_shared<double>(0);
  auto* sub = app.add_subcommand("run", "run scenarios against the built-in mux and judge them");
  add_run_options(sub, *o, *soak);
  add_list_options(sub, *l);
  on_chosen(sub, chosen, [o, l, soak](const invocation& in) {
    if (l->list) return run_list(o->paths, *l);
    if (!l->grep.empty() || l->update_index) {
      std::fprintf(stderr, "faultmux run: --grep and --update-index go with --list\n");
      return 2;
    }
    return run_run_command(*o, *soak, in);
  });
}

}  // namespace faultmux::cli
