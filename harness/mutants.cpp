#include "harness/mutants.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/driver.hpp"
#include "harness/install_paths.hpp"
#include "harness/scenario.hpp"
#include "mux/legacy.hpp"

namespace faultmux {
namespace {

std::vector<std::string> split_names(const std::string& joined) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < joined.size()) {
    std::size_t comma = joined.find(", ", at);
    out.push_back(joined.substr(at, comma - at));
    if (comma == std::string::npos) break;
    at = comma + 2;
  }
  return out;
}

bool known_bug(const std::string& name) {
  legacy_bugs b;
  return b.enable(name);
}

// The first failed oracle and its first evidence line, for one-line reports.
std::string why_failed(const scenario_result& r) {
  const oracle_result* f = first_failure(r.oracles);
  if (!f) return r.interrupted ? "interrupted" : "?";
  return f->evidence.empty() ? f->name : f->name + ": " + f->evidence.front();
}

// A cell of the matrix is the verdict of the scenario run with the bug,
// by this rule: the baseline showed the scenario passes without it, so any
// run with it that did not pass, a setup failure too (servers that never got
// an identity from a crashed listener), is `fail`: the bug is caught. `pass`
// is a missed bug; `error` a cell that could not be judged (the baseline
// failed, or the run was interrupted). A cell not run has no verdict.
const char* cell_text(verdict v) {
  switch (v) {
    case verdict::fail:
      return "caught";
    case verdict::pass:
      return "missed";
    default:
      return "error";
  }
}

class mutants_run {
 public:
  mutants_run(std::vector<scenario> all, std::vector<std::string> bugs, const mutants_options& o)
      : all_(std::move(all)), bugs_(std::move(bugs)), o_(o) {}

  int go() {
    stop_on_interrupt();
    for (const auto& bug : bugs_) {
      // Scenarios that declare the bug first: they must catch it anyway.
      std::vector<std::size_t> order;
      for (std::size_t i = 0; i < all_.size(); ++i)
        if (declares(i, bug)) order.push_back(i);
      for (std::size_t i = 0; i < all_.size(); ++i)
        if (!declares(i, bug)) order.push_back(i);
      bool caught = false;
      for (std::size_t i : order) {
        if (interrupt_requested()) break;
        // Past the declared ones, only a search for any catcher is needed.
        if (caught && !declares(i, bug)) break;
        if (try_bug(i, bug) == verdict::fail) caught = true;
      }
    }
    print_matrix();
    if (interrupt_requested()) {
      // What ran is shown above; a verdict on a part would mislead.
      std::printf("interrupted\n");
      std::fflush(stdout);
      return 130;
    }
    return summary();
  }

 private:
  bool declares(std::size_t i, const std::string& bug) const {
    const auto& c = all_[i].catches;
    return std::find(c.begin(), c.end(), bug) != c.end();
  }

  scenario_result run(std::size_t i, const std::string& bug) {
    driver_options d;
    d.self = o_.self;
    d.verbosity = o_.verbosity;
    if (!bug.empty()) d.legacy_bugs = {bug};
    ++runs_;
    return run_scenario(all_[i], all_[i].seed, d);
  }

  // A scenario must pass against the plain mux, or its failures with a bug
  // would prove nothing; run once, on first need.
  bool baseline(std::size_t i) {
    if (auto it = baseline_.find(i); it != baseline_.end()) return it->second;
    scenario_result r = run(i, "");
    if (r.passed) {
      std::printf("  %s without bugs: pass (%.1f s)\n", all_[i].name.c_str(), r.seconds);
    } else {
      std::printf("  ERROR %s fails without any bug: %s\n    rerun: %s\n", all_[i].name.c_str(),
                  why_failed(r).c_str(), rerun_command(r).c_str());
    }
    std::fflush(stdout);
    baseline_[i] = r.passed;
    return r.passed;
  }

  verdict try_bug(std::size_t i, const std::string& bug) {
    verdict c = verdict::error;
    if (baseline(i)) {
      scenario_result r = run(i, bug);
      if (r.interrupted) {
        std::printf("  ERROR %s with %s: interrupted\n", all_[i].name.c_str(), bug.c_str());
      } else if (!r.passed) {
        c = verdict::fail;
        std::printf("  %s with %s: fails, caught (%.1f s): %s\n", all_[i].name.c_str(), bug.c_str(),
                    r.seconds, why_failed(r).c_str());
      } else {
        c = verdict::pass;
        std::printf("  %s with %s: passes, missed (%.1f s)\n", all_[i].name.c_str(), bug.c_str(),
                    r.seconds);
      }
      std::fflush(stdout);
    }
    matrix_[{i, bug}] = c;
    return c;
  }

  std::optional<verdict> at(std::size_t i, const std::string& bug) const {
    auto it = matrix_.find({i, bug});
    if (it == matrix_.end()) return std::nullopt;
    return it->second;
  }

  void print_matrix() const {
    std::size_t width = 8;
    for (const auto& s : all_) width = std::max(width, s.name.size());
    std::printf("\n%-*s", static_cast<int>(width), "scenario");
    for (const auto& bug : bugs_) std::printf("  %-18s", bug.c_str());
    std::printf("\n");
    for (std::size_t i = 0; i < all_.size(); ++i) {
      std::printf("%-*s", static_cast<int>(width), all_[i].name.c_str());
      for (const auto& bug : bugs_) {
        std::optional<verdict> c = at(i, bug);
        std::string text = c ? cell_text(*c) : "-";
        if (declares(i, bug)) text += " (declared)";
        std::printf("  %-18s", text.c_str());
      }
      std::printf("\n");
    }
    std::printf("(-: not run, another scenario already caught it; %d scenario runs)\n\n", runs_);
  }

  // Prints what failed and returns the exit status.
  int summary() const {
    int problems = 0;
    for (std::size_t i = 0; i < all_.size(); ++i) {
      if (auto it = baseline_.find(i); it != baseline_.end() && !it->second) {
        ++problems;
        std::printf("FAIL %s fails without any bug, so it can prove no catch\n",
                    all_[i].name.c_str());
      }
      for (const auto& bug : bugs_)
        if (declares(i, bug) && at(i, bug) != verdict::fail) {
          ++problems;
          std::printf(
              "FAIL %s declares catches = \"%s\" but does not catch it (%s with "
              "--legacy-bug %s)\n",
              all_[i].name.c_str(), bug.c_str(),
              at(i, bug) == verdict::pass ? "it passes" : "it could not be judged", bug.c_str());
        }
    }
    for (const auto& bug : bugs_) {
      std::vector<std::string> by;
      for (std::size_t i = 0; i < all_.size(); ++i)
        if (at(i, bug) == verdict::fail) by.push_back(all_[i].name);
      if (by.empty()) {
        ++problems;
        std::printf("FAIL %s: caught by no scenario\n", bug.c_str());
      } else {
        std::printf("ok   %s: caught by %s\n", bug.c_str(),
                    fmt::format("{}", fmt::join(by, ", ")).c_str());
      }
    }
    std::printf("%s\n", problems ? fmt::format("{} problem(s)", problems).c_str()
                                 : "every bug caught, every declared catch holds");
    std::fflush(stdout);
    return problems ? 1 : 0;
  }

  std::vector<scenario> all_;
  std::vector<std::string> bugs_;
  const mutants_options& o_;
  std::map<std::size_t, bool> baseline_;
  std::map<std::pair<std::size_t, std::string>, verdict> matrix_;
  int runs_ = 0;
};

}  // namespace

int run_mutants(const mutants_options& o) {
  std::vector<std::string> paths = o.paths;
  if (paths.empty()) paths = {find_install_paths(o.self).data_dir + "/scenarios"};
  // o.bugs were checked by the command line (harness/cli/legacy_bug_option).
  std::vector<std::string> bugs = o.bugs.empty() ? split_names(legacy_bugs::known_names()) : o.bugs;
  std::vector<scenario> all;
  try {
    for (const auto& f : scenario_files(paths)) all.push_back(load_scenario(f));
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux mutants: %s\n", e.what());
    return 2;
  }
  if (all.empty()) {
    std::fprintf(stderr, "faultmux mutants: no scenario in the given paths\n");
    return 2;
  }
  for (const auto& s : all)
    for (const auto& bug : s.catches)
      if (!known_bug(bug)) {
        std::fprintf(stderr, "faultmux mutants: %s: catches \"%s\": no such bug; known: %s\n",
                     s.file.c_str(), bug.c_str(), legacy_bugs::known_names().c_str());
        return 2;
      }
  std::printf("mutants: %zu scenario(s) x %zu legacy bug(s)\n", all.size(), bugs.size());
  std::fflush(stdout);
  return mutants_run(std::move(all), std::move(bugs), o).go();
}

}  // namespace faultmux
