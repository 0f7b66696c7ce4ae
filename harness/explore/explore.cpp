#include "harness/explore/explore.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <toml++/toml.h>
#include <nlohmann/json.hpp>

#include "harness/driver.hpp"
#include "harness/explore/certificate.hpp"
#include "harness/explore/effects.hpp"
#include "harness/explore/fault_point.hpp"
#include "harness/explore/pairs.hpp"
#include "harness/shrink.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using steady = std::chrono::steady_clock;

// One planned run: one effect at one point, or with --pairs a second one.
struct planned {
  std::size_t cls = 0;  // the first fault's index into the explored classes
  fault_point point;
  effect fx;
  std::optional<planned_fault> second;
  pair_judgement judged;  // the class the run is judged by, and the peer it may cost
};

struct run_record {
  planned plan;
  consequence after;  // with --pairs, what a single fault's run did that no profile run did
  bool done = false;
  bool activated = false;
  verdict v = verdict::pass;  // of the oracles, once activated
  std::string why;            // the first failing oracle and its first evidence
  std::string found_file;     // the violation's scenario
  std::string shrunk_file;    // it shrunk by `faultmux shrink`; "" when not shrunk
  int reproduced = 0, reruns = 0;
  double seconds = 0;
};

std::string toml_text(const toml::table& t) {
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

// A worker group's fault_at: the process fault at `p`.
void add_process_fault(toml::table& t, const fault_point& p, const effect& fx, int stall_ms) {
  if (toml::array* groups = t["workers"].as_array())
    for (auto& g : *groups)
      if (toml::table* gt = g.as_table();
          gt && gt->get("name") && gt->get("name")->value_or(std::string()) == p.group()) {
        gt->insert_or_assign("fault_at", p.phase + ":" + fx.name);
        gt->insert_or_assign("fault_at_index", p.index());
        if (fx.name == "SIGSTOP") gt->insert_or_assign("fault_resume_after_ms", stall_ms);
      }
}

// The original scenario with the run's fault (or two), judged by its class.
toml::table with_faults(const toml::table& base, const planned& plan, const std::string& name,
                        int stall_ms) {
  toml::table t = base;
  t.insert_or_assign("name", name);
  std::string what = fmt::format("{} at {}", plan.fx.name, plan.point.key());
  if (plan.second)
    what += fmt::format(", then {} at {}", plan.second->fx.name, plan.second->point.key());
  t.insert_or_assign("description", fmt::format("{} ({} fault), found by faultmux explore", what,
                                                plan.judged.fault_class));
  toml::table expect;
  expect.insert("fault_class", plan.judged.fault_class);
  expect.insert("faulted_peer", plan.judged.faulted_peer);
  t.insert_or_assign("expect", std::move(expect));
  toml::array faults;
  std::vector<planned_fault> all{{plan.point, plan.fx}};
  if (plan.second) all.push_back(*plan.second);
  for (const auto& f : all) {
    if (f.point.call == "process") {
      add_process_fault(t, f.point, f.fx, stall_ms);
      continue;
    }
    toml::table r;
    r.insert("kind", "syscall");
    r.insert("rule", f.point.rule(f.fx.name));
    if (f.point.in_worker()) r.insert("in", "workers");
    faults.push_back(std::move(r));
  }
  if (!faults.empty()) t.insert_or_assign("faults", std::move(faults));
  return t;
}

// The scenario with the shim tracing every call a fault can land on: the
// target's, and with `workers` the workers' own.
scenario traced(const scenario& s, bool workers) {
  scenario t = s;
  auto add = [&](const std::vector<std::string>& rules, bool in_workers) {
    for (const auto& r : rules) {
      fault_spec f;
      f.kind = fault_spec::kind_t::syscall;
      f.rule = r;
      f.in = in_workers ? "workers" : "mux";
      t.faults.push_back(f);
    }
  };
  add(trace_rules(s), false);
  if (workers) add(worker_trace_rules(), true);
  return t;
}

// Why a scenario cannot be explored, or "".
std::string unexplorable(const scenario& s) {
  if (!s.faults.empty())
    return "it has [[faults]] of its own: explore injects one fault at a time into a scenario "
           "without any (remove them, or explore a plain copy)";
  for (const auto& g : s.workers)
    if (!g.fault_at.empty() || g.workload == worker_group::workload_t::hostile)
      return fmt::format(
          "worker group {} is faulted (fault_at or a hostile workload): explore needs a "
          "scenario whose workers all behave",
          g.name);
  return "";
}

std::string why_failed(const scenario_result& r) {
  for (const auto& o : r.oracles)
    if (is_failure(o.v)) return o.name + (o.evidence.empty() ? "" : ": " + o.evidence.front());
  return r.error ? "could not run" : "";
}

// What explore covered, and how it went.
struct certificate {
  std::size_t points = 0, stable = 0, unstable = 0, classes = 0, explored_classes = 0;
  std::size_t planned = 0, runs = 0, activated = 0, not_activated = 0, violations = 0;
  std::size_t errors = 0;
  bool complete = true;  // every planned run ran
  std::string stopped_because;
};

class explorer {
 public:
  explorer(const explore_options& o, std::string file, explore_report& report)
      : o_(o), file_(std::move(file)), report_(report), points_re_(o.points) {
    d_.self = o.self;
    d_.target = o.target;
    d_.mitogen_src = o.mitogen_src;
    d_.legacy_bugs = o.legacy_bugs;
    // Runs share this process: none may reap another's children.
    d_.jobs = o.jobs;
  }

  int go() {
    try {
      s_ = load_scenario(file_);
      base_ = toml::parse_file(file_);
    } catch (const scenario_error& e) {
      std::fprintf(stderr, "faultmux explore: %s\n", e.what());
      return 2;
    } catch (const toml::parse_error& e) {
      std::fprintf(stderr, "faultmux explore: %s: %s\n", file_.c_str(),
                   std::string(e.description()).c_str());
      return 2;
    }
    if (std::string why = unexplorable(s_); !why.empty()) {
      std::fprintf(stderr, "faultmux explore: cannot explore %s: %s\n", file_.c_str(), why.c_str());
      return 2;
    }
    seed_ = o_.seed.value_or(s_.seed);
    started_ = steady::now();
    if (int rc = profile(); rc != 0) return rc;
    if (baseline_failure_.empty()) {
      plan();
      execute();
      if (o_.pairs != pairs_mode::none && !stopped()) {
        const std::size_t singles = runs_.size();
        plan_pairs();
        execute(singles);
      }
      confirm_violations();
    } else {
      for (int i = 0; i < o_.reruns && !interrupt_requested(); ++i) {
        ++baseline_reruns_;
        if (verdict_of(run_scenario(s_, seed_, d_)) == verdict::fail) ++baseline_reproduced_;
      }
    }
    const json doc = write_results();
    print_certificate(doc);
    if (interrupt_requested()) return 130;
    return doc["certificate"]["violations"].get<std::size_t>() > 0 ? 1 : 0;
  }

 private:
  // Runs the traced scenario o_.profile_runs times: the points seen in every
  // run are stable. A run that fails is itself the finding (baseline_failure_).
  int profile() {
    std::vector<std::set<fault_point>> seen;
    double longest = 0;
    // --mux-only: only the target's calls are points.
    scenario t = traced(s_, !o_.mux_only);
    for (int i = 0; i < o_.profile_runs && !interrupt_requested(); ++i) {
      // Without the legacy bugs: the points are where the mux's code makes
      // its calls, and a bug whose trigger comes by itself (crash-on-eagain
      // meets natural EAGAINs) would leave nothing to explore.
      driver_options d = d_;
      d.legacy_bugs.clear();
      std::vector<fault_point> pts;
      d.observe = [&](const timeline& tl, const run_outcome&) {
        pts = traced_points(tl);
        for (auto& e : event_names(tl)) profile_events_.insert(e);
      };
      scenario_result r = run_scenario(t, seed_, d);
      if (r.interrupted) return 130;
      if (verdict_of(r) != verdict::pass) {
        // The scenario fails with no fault at all (the mux under test, or a
        // setup that cannot work): that is the finding, said with its why,
        // and single faults cannot be judged against it.
        baseline_failure_ = fmt::format("profile run {}: {}", i + 1, why_failed(r));
        cert_.stopped_because = "the scenario fails with no fault injected";
        return 0;
      }
      seen.emplace_back(pts.begin(), pts.end());
      longest = std::max(longest, r.seconds);
      std::printf("explore %s: profile run %d/%d: %zu points (%.2f s)\n", s_.name.c_str(), i + 1,
                  o_.profile_runs, pts.size(), r.seconds);
      std::fflush(stdout);
    }
    if (interrupt_requested()) return 130;
    // A stall outlasts a whole unfaulted run several times over, so whoever
    // it holds up is seen finishing only after it.
    stall_ms_ = std::max(1000, static_cast<int>(longest * 5 * 1000));
    std::set<fault_point> all, stable = seen.front();
    for (const auto& s : seen) {
      all.insert(s.begin(), s.end());
      std::set<fault_point> keep;
      std::set_intersection(stable.begin(), stable.end(), s.begin(), s.end(),
                            std::inserter(keep, keep.end()));
      stable = std::move(keep);
    }
    for (const auto& p : all)
      if (!stable.count(p)) unstable_.push_back(p);
    profile_points_ = all;
    points_.assign(stable.begin(), stable.end());
    if (!o_.mux_only)
      for (auto& p : process_points(s_)) points_.push_back(p);
    cert_.points = all.size() + (points_.size() - stable.size());
    cert_.stable = points_.size();
    cert_.unstable = unstable_.size();
    return 0;
  }

  void plan() {
    classes_ = collapse(points_);
    cert_.classes = classes_.size();
    for (std::size_t i = 0; i < classes_.size(); ++i) {
      if (static_cast<int>(i % static_cast<std::size_t>(o_.shards)) != o_.shard) continue;
      if (!o_.points.empty() && !std::regex_search(classes_[i].representative.key(), points_re_))
        continue;
      ++cert_.explored_classes;
      const point_class& c = classes_[i];
      std::vector<fault_point> targets{c.representative};
      if (o_.all_members) targets = c.members;
      for (const auto& p : targets)
        for (const auto& fx : narrowed(effects_for(p), o_.effects)) {
          run_record r;
          r.plan = {i, p, fx, std::nullopt, {fx.fault_class, p.faulted()}};
          runs_.push_back(std::move(r));
        }
    }
  }

  bool stopped() const { return interrupt_requested() || !cert_.stopped_because.empty(); }

  // The second faults: after each single fault that passed, at the calls its
  // consequences made (--pairs); with --all-pairs, at every single fault's
  // point other than its own (the cross product, to check the pruning by).
  void plan_pairs() {
    const std::size_t singles = runs_.size();
    std::vector<planned_fault> all;
    for (std::size_t i = 0; i < singles; ++i)
      all.push_back({runs_[i].plan.point, runs_[i].plan.fx});
    cross_product_ = cross_product(all);
    std::set<std::string> signatures;
    for (std::size_t i = 0; i < singles; ++i) {
      const run_record a = runs_[i];  // a copy: runs_ grows below
      std::vector<planned_fault> seconds;
      if (o_.pairs == pairs_mode::all) {
        for (std::size_t j = i + 1; j < singles; ++j)
          if (all[j].point.key() != all[i].point.key()) seconds.push_back(all[j]);
      } else if (const char* skip = why_no_pairs(a, signatures)) {
        ++first_faults_[skip];
        continue;
      } else {
        ++first_faults_["explored"];
        for (const auto& p : a.after.points)
          for (const auto& fx : narrowed(effects_for(p), o_.effects)) seconds.push_back({p, fx});
      }
      for (const auto& b : seconds) {
        auto judged = judged_as(all[i], b);
        if (!judged) {
          ++pairs_two_peers_;
          continue;
        }
        run_record r;
        r.plan = {a.plan.cls, a.plan.point, a.plan.fx, b, *judged};
        runs_.push_back(std::move(r));
        ++pair_runs_;
      }
    }
  }

  // Why a single fault's run gets no second fault, or nullptr.
  static const char* why_no_pairs(const run_record& a, std::set<std::string>& signatures) {
    if (!a.done) return "not run";
    if (!a.activated) return "not activated";
    if (a.v != verdict::pass) return "violated alone";  // its pairs add nothing to its finding
    if (a.after.points.empty()) return "no consequence a fault can land on";
    if (!signatures.insert(a.after.signature()).second)
      return "same consequences as an earlier first fault";
    return nullptr;
  }

  // One single-fault run; the scenario is built as text and loaded, exactly
  // as `faultmux run` would load the file explore writes for a violation.
  void run_one(run_record& rec, std::size_t number) {
    const std::string name = fmt::format("{}-found-{}", s_.name, number + 1);
    toml::table t = with_faults(base_, rec.plan, name, stall_ms_);
    scenario s;
    try {
      s = parse_scenario(toml_text(t), file_);
    } catch (const scenario_error& e) {
      rec.done = true;
      rec.v = verdict::error;
      rec.why = e.what();
      return;
    }
    driver_options d = d_;
    if (o_.pairs != pairs_mode::none && !rec.plan.second) {
      // Traced, for the calls its consequences make: where a second fault goes.
      s = traced(s, !o_.mux_only);
      d.observe = [&](const timeline& tl, const run_outcome&) {
        rec.after =
            consequences_of(traced_points(tl), event_names(tl), profile_points_, profile_events_);
      };
    }
    scenario_result r = run_scenario(s, seed_, d);
    rec.seconds = r.seconds;
    rec.done = !r.interrupted;
    const oracle_result* fired = nullptr;
    for (const auto& x : r.oracles)
      if (x.name == "faults fired") fired = &x;
    rec.activated = fired && fired->v == verdict::pass;
    rec.v = verdict_of(r);
    rec.why = why_failed(r);
    if (rec.activated && rec.v == verdict::fail) {
      const std::string dir = report_dir() + "/found";
      fs::create_directories(dir);
      rec.found_file = fmt::format("{}/{}.toml", dir, name);
      std::ofstream(rec.found_file) << toml_text(t);
    }
  }

  // Runs runs_[from...] on o_.jobs threads.
  void execute(std::size_t from = 0) {
    std::atomic<std::size_t> next{from}, finished{from}, violations{0};
    std::atomic<bool> stop{false};
    std::mutex mu;
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    auto over_budget = [&] {
      return o_.budget_min > 0 &&
             std::chrono::duration<double>(steady::now() - started_).count() > o_.budget_min * 60;
    };
    auto work = [&] {
      for (;;) {
        if (stop || interrupt_requested()) return;
        if (over_budget()) {
          std::lock_guard lock(mu);
          cert_.stopped_because = fmt::format("the budget of {} min", o_.budget_min);
          stop = true;
          return;
        }
        std::size_t i = next.fetch_add(1);
        if (i >= runs_.size()) return;
        run_one(runs_[i], i);
        ++finished;
        if (runs_[i].activated && runs_[i].v == verdict::fail) {
          ++violations;
          if (o_.first) {
            std::lock_guard lock(mu);
            cert_.stopped_because = "--first: the first violation";
            stop = true;
          }
        }
        if (tty) {
          std::lock_guard lock(mu);
          double el = std::chrono::duration<double>(steady::now() - started_).count();
          double eta = finished ? el / finished * (runs_.size() - finished) : 0;
          std::fprintf(stderr, "\rexplore %s: runs %zu/%zu, violations %zu, %.0f s, ETA %.0f s   ",
                       s_.name.c_str(), finished.load(), runs_.size(), violations.load(), el, eta);
        }
      }
    };
    std::vector<std::thread> threads;
    const int n = std::max(1, std::min<int>(o_.jobs, static_cast<int>(runs_.size() - from)));
    for (int t = 0; t < n; ++t) threads.emplace_back(work);
    for (auto& t : threads) t.join();
    if (tty) std::fprintf(stderr, "\n");
    if (interrupt_requested()) cert_.stopped_because = "interrupted (SIGINT)";
  }

  // Reruns each violation's scenario file as `faultmux run` would: its
  // reproduction rate; then shrinks it, unless it never failed again.
  void confirm_violations() {
    for (auto& r : runs_) {
      if (r.found_file.empty() || interrupt_requested()) continue;
      scenario s = load_scenario(r.found_file);
      for (int i = 0; i < o_.reruns && !interrupt_requested(); ++i) {
        ++r.reruns;
        if (verdict_of(run_scenario(s, seed_, d_)) == verdict::fail) ++r.reproduced;
      }
      if (!o_.no_shrink && !interrupt_requested() && (r.reruns == 0 || r.reproduced > 0))
        r.shrunk_file = shrink_violation(r.found_file);
    }
  }

  // `faultmux shrink` on a violation's scenario, with fewer runs than its
  // default so that exploring stays quick: FOUND-shrunk.toml beside it, or
  // "" when it did not fail again (or was interrupted).
  std::string shrink_violation(const std::string& found) const {
    constexpr int shrink_runs = 20;
    shrink_options so;
    so.file = found;
    so.seed = seed_;
    so.legacy_bugs = o_.legacy_bugs;
    so.target = o_.target;
    so.out = (fs::path(found).parent_path() / (fs::path(found).stem().string() + "-shrunk.toml"))
                 .string();
    so.max_runs = shrink_runs;
    so.verbosity = o_.verbosity;
    so.self = o_.self;
    std::printf("explore %s: shrinking %s (at most %d runs)\n", s_.name.c_str(), found.c_str(),
                shrink_runs);
    std::fflush(stdout);
    return run_shrink(so) == 0 ? so.out : "";
  }

  std::string report_dir() const {
    return o_.report_dir.empty() ? "explore-report" : o_.report_dir;
  }

  std::string run_command(const std::string& file) const { return rerun_command(file, seed_, d_); }

  json certificate_json(const json& runs) const {
    json c = {{"points", cert_.points},
              {"stable", cert_.stable},
              {"unstable", cert_.unstable},
              {"classes", cert_.classes},
              {"explored_classes", cert_.explored_classes},
              {"shard", fmt::format("{}/{}", o_.shard + 1, o_.shards)},
              {"bound", o_.points.empty()
                            ? "every stable point, one fault per run"
                            : fmt::format("every stable point matching /{}/, one fault per run",
                                          o_.points)}};
    if (o_.pairs != pairs_mode::none) c["pairs"] = pairs_json();
    count_runs(runs, c);
    if (!baseline_failure_.empty()) c["complete"] = false;
    if (!cert_.stopped_because.empty()) c["stopped_because"] = cert_.stopped_because;
    return c;
  }

  json pairs_json() const {
    const bool all = o_.pairs == pairs_mode::all;
    return {{"mode", all ? "all" : "consequences"},
            {"runs", pair_runs_},
            {"cross_product", cross_product_},
            {"not_judged_two_peers", pairs_two_peers_},
            {"first_faults", first_faults_},
            {"bound", all ? "every two single faults on different points"
                          : "every pair whose second fault lands on a call that the first "
                            "fault's consequences made, for each single fault that passed, "
                            "once per distinct consequence"}};
  }

  json write_results() {
    json runs = json::array();
    for (const auto& r : runs_) {
      json j = {{"point", r.plan.point.key()},
                {"class", classes_[r.plan.cls].representative.class_key()},
                {"members", classes_[r.plan.cls].members.size()},
                {"role", r.plan.point.role},
                {"phase", r.plan.point.phase},
                {"call", r.plan.point.call},
                {"effect", r.plan.fx.name},
                {"fault_class", r.plan.fx.fault_class},
                {"ran", r.done}};
      if (r.plan.second)
        j["second"] = {{"point", r.plan.second->point.key()},
                       {"effect", r.plan.second->fx.name},
                       {"fault_class", r.plan.second->fx.fault_class},
                       {"judged_as", r.plan.judged.fault_class}};
      if (!r.after.empty()) j["consequences"] = r.after.signature();
      if (r.done) {
        j["activated"] = r.activated;
        j["verdict"] = r.activated ? std::string(verdict_name(r.v)) : "not activated";
        if (!r.why.empty()) j["why"] = r.why;
        j["seconds"] = r.seconds;
      }
      if (!r.found_file.empty()) {
        j["scenario"] = r.found_file;
        j["command"] = run_command(r.found_file);
        j["reproduced"] = fmt::format("{}/{}", r.reproduced, r.reruns);
      }
      if (!r.shrunk_file.empty()) {
        j["shrunk"] = r.shrunk_file;
        j["shrunk_command"] = run_command(r.shrunk_file);
      }
      runs.push_back(std::move(j));
    }
    json unstable = json::array();
    for (const auto& p : unstable_) unstable.push_back(p.key());
    if (!baseline_failure_.empty())
      runs.push_back(
          {{"point", "none"},
           {"effect", "none"},
           {"ran", true},
           {"activated", true},
           {"verdict", "fail"},
           {"why", baseline_failure_},
           {"scenario", file_},
           {"command", run_command(file_)},
           {"reproduced", fmt::format("{}/{}", baseline_reproduced_, baseline_reruns_)}});
    json doc = {
        {"scenario", s_.name},           {"file", file_}, {"target", o_.target},
        {"legacy_bugs", o_.legacy_bugs}, {"seed", seed_}, {"certificate", certificate_json(runs)},
        {"unstable_points", unstable},   {"runs", runs}};
    results_path_ = fmt::format("{}/results.json", report_dir());
    if (std::string err = report_.add(doc, report_dir()); !err.empty())
      std::fprintf(stderr, "faultmux explore: %s\n", err.c_str());
    return doc;
  }

  void print_certificate(const json& doc) const {
    std::printf("%s\n", certificate_line(doc).c_str());
    if (!baseline_failure_.empty())
      std::printf("  violation: with no fault injected: %s\n    reproduced %d/%d: %s\n",
                  baseline_failure_.c_str(), baseline_reproduced_, baseline_reruns_,
                  run_command(file_).c_str());
    for (const auto& r : runs_) {
      if (r.found_file.empty()) continue;
      std::printf("  violation: %s at %s (%s): %s\n    reproduced %d/%d: %s\n",
                  r.plan.fx.name.c_str(), r.plan.point.key().c_str(), r.plan.fx.fault_class.c_str(),
                  r.why.c_str(), r.reproduced, r.reruns, run_command(r.found_file).c_str());
      if (!r.shrunk_file.empty())
        std::printf("    shrunk: %s\n", run_command(r.shrunk_file).c_str());
      else if (!o_.no_shrink)
        std::printf("    not shrunk (it did not fail again, or was interrupted)\n");
    }
    std::printf("  results: %s\n", results_path_.c_str());
    std::fflush(stdout);
  }

  const explore_options& o_;
  std::string file_;
  explore_report& report_;
  driver_options d_;
  scenario s_;
  toml::table base_;
  std::uint64_t seed_ = 0;
  int stall_ms_ = 1000;
  steady::time_point started_;
  std::vector<fault_point> points_, unstable_;
  std::vector<point_class> classes_;
  std::vector<run_record> runs_;
  std::regex points_re_;                             // --points
  std::set<fault_point> profile_points_;             // seen in any profile run
  std::set<std::string> profile_events_;             // event names of the profile runs
  std::map<std::string, std::size_t> first_faults_;  // single faults, by what became of their pairs
  std::size_t pair_runs_ = 0, pairs_two_peers_ = 0, cross_product_ = 0;
  certificate cert_;
  std::string results_path_;
  std::string baseline_failure_;  // why the scenario failed with no fault; "" when it passed
  int baseline_reproduced_ = 0, baseline_reruns_ = 0;
};

}  // namespace

std::optional<std::string> choose_shard(const std::string& spec, int shards_option,
                                        explore_options& o) {
  auto env = [](const char* n) -> std::string {
    const char* v = std::getenv(n);
    return v ? v : "";
  };
  int k = 1, n = 1;
  try {
    if (!spec.empty()) {
      auto slash = spec.find('/');
      if (slash == std::string::npos) throw std::invalid_argument("no /");
      k = std::stoi(spec.substr(0, slash));
      n = std::stoi(spec.substr(slash + 1));
    } else if (!env("CI_NODE_INDEX").empty() && !env("CI_NODE_TOTAL").empty()) {
      k = std::stoi(env("CI_NODE_INDEX"));  // GitLab: 1..N
      n = std::stoi(env("CI_NODE_TOTAL"));
    } else if (!env("JOB_COMPLETION_INDEX").empty() && shards_option > 0) {
      k = std::stoi(env("JOB_COMPLETION_INDEX")) + 1;  // Kubernetes: 0..N-1
      n = shards_option;
    } else if (shards_option > 0) {
      return fmt::format(
          "--shards {} needs JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or --shard K/N",
          shards_option);
    }
  } catch (const std::exception&) {
    return fmt::format("--shard {:?}: expected K/N with 1 <= K <= N, e.g. 2/4", spec);
  }
  if (n < 1 || k < 1 || k > n)
    return fmt::format("shard {}/{}: expected K/N with 1 <= K <= N, e.g. 2/4", k, n);
  o.shard = k - 1;
  o.shards = n;
  return std::nullopt;
}

int run_explore(const explore_options& o) {
  std::vector<std::string> files;
  try {
    files = scenario_files(o.files);
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux explore: %s\n", e.what());
    return 2;
  }
  stop_on_interrupt();
  explore_report report(o.command_line, o.seed);
  int worst = 0;
  for (const auto& f : files) {
    int rc = explorer(o, f, report).go();
    if (rc == 130) return rc;
    worst = std::max(worst, rc);
    if (rc == 1 && o.first) break;
  }
  return worst;
}

}  // namespace faultmux
