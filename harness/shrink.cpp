#include "harness/shrink.hpp"

#include <stdlib.h>

#include <cerrno>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "harness/driver.hpp"
#include "harness/scenario.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;

std::string toml_text(const toml::table& t) {
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

class shrinker {
 public:
  shrinker(const shrink_options& o, std::uint64_t seed, std::string tmp)
      : o_(o), seed_(seed), tmp_(std::move(tmp)) {
    d_.self = o.self;
    d_.verbosity = o.verbosity;
    d_.target = o.target;
    d_.mitogen_src = o.mitogen_src;
    d_.legacy_bugs = o.legacy_bugs;
  }

  int runs() const { return runs_; }
  const driver_options& options() const { return d_; }
  bool out_of_runs() const { return runs_ >= o_.max_runs; }
  bool interrupted() const { return interrupted_; }
  // The last run's verdict and why it did not pass ("" when it did).
  verdict last() const { return last_; }
  const std::string& last_why() const { return why_; }

  // Runs a candidate from its own file, as `faultmux run` would read it.
  // A candidate that does not load (the smaller value breaks a constraint
  // of the loader) does not fail the way the original did, and costs no run.
  // With differential() on, a candidate that fails must also pass without
  // the legacy bugs, so that what is kept is still the bug's failure.
  bool fails(const toml::table& candidate, const std::string& what) {
    if (out_of_runs() || interrupted_) return false;
    std::string path = fmt::format("{}/candidate-{}.toml", tmp_, runs_ + 1);
    std::ofstream(path) << toml_text(candidate);
    scenario s;
    try {
      s = load_scenario(path);
    } catch (const scenario_error& e) {
      std::printf("shrink: skip %s: %s\n", what.c_str(), e.what());
      std::fflush(stdout);
      return false;
    }
    if (judge(s, d_, what) != verdict::fail) return false;
    if (!same_failure()) {
      std::printf("shrink: %s fails otherwise (%s), not kept\n", what.c_str(), why_.c_str());
      std::fflush(stdout);
      return false;
    }
    if (!differential_) return true;
    driver_options without = d_;
    without.legacy_bugs.clear();
    const verdict control = judge(s, without, what + ", without the legacy bugs");
    return control == verdict::pass || control == verdict::not_applicable;
  }

  // Whether the scenario as given passes without the legacy bugs: then every
  // candidate must too (see fails()). No legacy bugs: false, at no cost.
  bool passes_without_bugs(const toml::table& given) {
    if (o_.legacy_bugs.empty()) return false;
    std::string path = fmt::format("{}/given.toml", tmp_);
    std::ofstream(path) << toml_text(given);
    driver_options without = d_;
    without.legacy_bugs.clear();
    const verdict v = judge(load_scenario(path), without, "as given, without the legacy bugs");
    return v == verdict::pass || v == verdict::not_applicable;
  }
  void set_differential(bool on) { differential_ = on; }

 private:
  // Whether the last run failed as the first one did: one of the oracles
  // that failed first fails again. A fault that no longer fires ("faults
  // fired") is not that failure: a candidate that removed what the fault
  // lands on fails only for that, and would shrink to nothing.
  bool same_failure() {
    if (first_failures_.empty()) {
      first_failures_ = failures_;
      return true;
    }
    for (const auto& f : failures_)
      if (f != "faults fired" && first_failures_.count(f)) return true;
    return failures_ == first_failures_;
  }

  // One run of `s` under `d`: its verdict, printed with why it did not pass.
  // Only a judged failure counts: a candidate that could not be run (its
  // setup failed) says nothing about the failure being shrunk, and keeping
  // it would converge on a broken scenario.
  verdict judge(const scenario& s, const driver_options& d, const std::string& what) {
    ++runs_;
    scenario_result r = run_scenario(s, seed_, d);
    if (r.interrupted) interrupted_ = true;
    last_ = verdict_of(r);
    why_.clear();
    failures_.clear();
    for (const auto& o : r.oracles)
      if (o.v == verdict::fail) failures_.insert(o.name);
    if (is_failure(last_))
      if (const oracle_result* f = first_failure(r.oracles))
        why_ = f->name + (f->evidence.empty() ? "" : ": " + f->evidence.front());
    std::printf("shrink run %d/%d: %s: %s (%.1f s)%s\n", runs_, o_.max_runs, what.c_str(),
                r.interrupted             ? "interrupted"
                : last_ == verdict::error ? "could not run"
                : last_ == verdict::fail  ? "fails"
                                          : "passes",
                r.seconds, why_.empty() ? "" : (": " + why_).c_str());
    std::fflush(stdout);
    return r.interrupted ? verdict::error : last_;
  }

  const shrink_options& o_;
  std::uint64_t seed_;
  std::string tmp_;
  driver_options d_;
  int runs_ = 0;
  bool interrupted_ = false;
  bool differential_ = false;
  verdict last_ = verdict::pass;
  std::string why_;
  std::set<std::string> failures_;        // the failing oracles of the last run
  std::set<std::string> first_failures_;  // of the first run that failed: what is shrunk
};

// Drops each [[faults]] entry in turn, keeping the drop when it still fails.
void drop_faults(toml::table& cur, shrinker& sh) {
  std::size_t i = 0;
  while (true) {
    const toml::array* faults = cur["faults"].as_array();
    if (!faults || i >= faults->size() || sh.out_of_runs() || sh.interrupted()) return;
    toml::table cand = cur;
    toml::array& arr = *cand["faults"].as_array();
    std::string what = "without fault " + std::to_string(i + 1);
    if (const toml::table* f = arr[i].as_table()) {
      if (auto rule = (*f)["rule"].value<std::string>()) what += " (" + *rule + ")";
      if (auto sig = (*f)["signal"].value<std::string>()) what += " (" + *sig + ")";
    }
    arr.erase(arr.begin() + static_cast<std::ptrdiff_t>(i));
    // No faults at all is written as no [[faults]], not an empty array.
    if (arr.empty()) cand.erase("faults");
    if (sh.fails(cand, what))
      cur = std::move(cand);  // the next entry moved into slot i
    else
      ++i;
  }
}

// Halves `key` of the workers group at `g` while the scenario still fails.
void halve(toml::table& cur, std::size_t g, const char* key, shrinker& sh) {
  while (!sh.out_of_runs() && !sh.interrupted()) {
    toml::table* group = cur["workers"].as_array()->get(g)->as_table();
    auto value = (*group)[key].value<std::int64_t>();
    if (!value || *value <= 1) return;
    std::int64_t half = *value / 2;
    toml::table cand = cur;
    cand["workers"].as_array()->get(g)->as_table()->insert_or_assign(key, half);
    std::string name = (*group)["name"].value_or(std::string("?"));
    if (!sh.fails(cand, fmt::format("workers {}: {} {} -> {}", name, key, *value, half))) return;
    cur = std::move(cand);
  }
}

void halve_workers(toml::table& cur, shrinker& sh) {
  // Each kept halving replaces `cur`, so the array is looked up afresh.
  for (std::size_t g = 0;; ++g) {
    const toml::array* groups = cur["workers"].as_array();
    if (!groups || g >= groups->size()) return;
    if (!groups->get(g)->is_table()) continue;
    halve(cur, g, "count", sh);
    halve(cur, g, "messages", sh);
  }
}

}  // namespace

int run_shrink(const shrink_options& o) {
  // o.legacy_bugs were checked by the command line (harness/cli/legacy_bug_option).
  // The strict loader first, so a bad file is reported as `faultmux
  // validate` would; the table is what gets edited, so every key not shrunk
  // is written back as the user wrote it.
  scenario original;
  toml::table cur;
  try {
    original = load_scenario(o.file);
    cur = toml::parse_file(o.file);
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux shrink: %s\n", e.what());
    return 2;
  } catch (const toml::parse_error& e) {
    std::fprintf(stderr, "faultmux shrink: %s: %s\n", o.file.c_str(), e.what());
    return 2;
  }
  const std::uint64_t seed = o.seed.value_or(original.seed);

  std::string tmpl = (fs::temp_directory_path() / "faultmux-shrink-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) {
    std::fprintf(stderr, "faultmux shrink: cannot make a temporary directory: %s\n",
                 std::strerror(errno));
    return 2;
  }
  const std::string tmp = tmpl;
  struct cleanup {
    std::string dir;
    ~cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup_tmp{tmp};

  shrinker sh(o, seed, tmp);
  if (!sh.fails(cur, "as given")) {
    if (sh.interrupted()) return 130;
    if (sh.last() == verdict::error) {
      std::fprintf(stderr, "faultmux shrink: %s could not be run with seed %llu: %s\n",
                   o.file.c_str(), static_cast<unsigned long long>(seed), sh.last_why().c_str());
      return 2;
    }
    std::fprintf(stderr, "faultmux shrink: %s passes with seed %llu: nothing to shrink\n",
                 o.file.c_str(), static_cast<unsigned long long>(seed));
    return 2;
  }
  // A failure that is the legacy bugs' (the scenario passes without them)
  // shrinks to a scenario that still tells the two muxes apart.
  if (sh.passes_without_bugs(cur)) {
    std::printf(
        "shrink: the scenario passes without the legacy bugs: every smaller one must too\n");
    sh.set_differential(true);
  }
  if (sh.interrupted()) return 130;
  drop_faults(cur, sh);
  halve_workers(cur, sh);
  if (sh.interrupted()) return 130;
  if (sh.out_of_runs())
    std::printf("shrink: stopped after %d runs; the scenario may shrink further\n", sh.runs());

  std::string out = o.out;
  if (out.empty()) out = fs::path(o.file).stem().string() + ".shrunk.toml";
  std::string text = toml_text(cur);
  {
    std::ofstream f(out);
    f << text;
    if (!f.flush()) {
      std::fprintf(stderr, "faultmux shrink: cannot write %s\n", out.c_str());
      return 2;
    }
  }
  std::printf("\n%s\n", text.c_str());
  std::printf("shrunk in %d runs, written to %s\nrerun: %s\n", sh.runs(), out.c_str(),
              rerun_command(out, seed, sh.options()).c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace faultmux
