#include "harness/repro/search.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "harness/driver.hpp"
#include "harness/repro/acceptance.hpp"
#include "harness/repro/evidence.hpp"

namespace faultmux::repro {
namespace {

using steady = std::chrono::steady_clock;

std::string toml_text(const toml::table& t) {
  std::ostringstream out;
  out << t << "\n";
  return out.str();
}

driver_options driver_for(const repro_options& o) {
  driver_options d;
  d.self = o.self;
  d.target = o.target;
  d.mitogen_src = o.mitogen_src;
  d.legacy_bugs = o.legacy_bugs;
  d.jobs = o.jobs;  // runs share this process: none may reap another's children
  return d;
}

// A worker group's fault_at: the process fault at `p`.
void add_process_fault(toml::table& t, const planned_fault& f, int stall_ms) {
  if (toml::array* groups = t["workers"].as_array())
    for (auto& g : *groups)
      if (toml::table* gt = g.as_table();
          gt && gt->get("name") && gt->get("name")->value_or(std::string()) == f.point.group()) {
        gt->insert_or_assign("fault_at", f.point.phase + ":" + f.fx.name);
        gt->insert_or_assign("fault_at_index", f.point.index());
        if (f.fx.name == "SIGSTOP") gt->insert_or_assign("fault_resume_after_ms", stall_ms);
      }
}

// The base with every traced call a fault can land on (the mux's and the
// workers'), as explore profiles it.
scenario traced(scenario s) {
  auto add = [&](const std::vector<std::string>& rules, bool in_workers) {
    for (const auto& r : rules) {
      fault_spec f;
      f.rule = r;
      f.in = in_workers ? "workers" : "mux";
      s.faults.push_back(f);
    }
  };
  add(trace_rules(s), false);
  add(worker_trace_rules(), true);
  return s;
}

// One run of `t`: its signature compared with the wanted one.
std::optional<match> run_once(const repro_options& o, const signature& sig, const toml::table& t) {
  scenario s;
  try {
    s = parse_scenario(toml_text(t), "repro-candidate.toml");
  } catch (const scenario_error&) {
    return std::nullopt;
  }
  driver_options d = driver_for(o);
  // A run whose setup failed is not judged (nor observed): its directory is
  // kept, and its events read from there.
  d.verbosity = 1;
  signature got;
  bool observed = false;
  d.observe = [&](const timeline& tl, const run_outcome& out) {
    got = run_signature(tl, {});
    // What a second mux printed is no event: read it as the evidence's
    // clients' output was read.
    for (const auto& [pid, tail] : out.stderr_tails)
      add_evidence(got, evidence_file{"stderr of pid " + std::to_string(pid),
                                      evidence_kind::client_errors, tail});
    observed = true;
  };
  scenario_result r = run_scenario(s, s.seed, d);
  if (!r.kept_dir.empty()) {
    if (!observed) got = run_signature(load_timeline(r.kept_dir), {});
    std::error_code ec;
    std::filesystem::remove_all(r.kept_dir, ec);
  }
  if (r.interrupted) return std::nullopt;
  for (const auto& x : r.oracles)
    if (is_failure(x.v)) got.oracle_failures.insert(x.name);
  return compare(sig, got);
}

class searcher {
 public:
  searcher(const repro_options& o, const signature& sig, const toml::table& base)
      : o_(o), sig_(sig), base_(base), started_(steady::now()) {}

  search_result go() {
    profile();
    std::vector<candidate> all{candidate{}};  // the base alone first: its workload may be enough
    auto singles = ranked_singles(points_, sig_);
    auto pairs = pairs_around(singles, 3, 12);
    // The closest singles, then the pairs around them, then the rest.
    const std::size_t head = std::min<std::size_t>(30, singles.size());
    all.insert(all.end(), singles.begin(), singles.begin() + static_cast<std::ptrdiff_t>(head));
    all.insert(all.end(), pairs.begin(), pairs.end());
    all.insert(all.end(), singles.begin() + static_cast<std::ptrdiff_t>(head), singles.end());
    res_.candidates = all.size();
    std::printf(
        "repro: %zu fault points in the base scenario; %zu candidates (%zu single faults, "
        "%zu pairs), closest first\n",
        points_.size(), all.size(), singles.size(), pairs.size());
    std::fflush(stdout);
    execute(all);
    std::sort(tried_.begin(), tried_.end(), [](const tried& a, const tried& b) {
      return std::tie(a.reproduced, a.closeness) > std::tie(b.reproduced, b.closeness);
    });
    for (std::size_t i = 0; i < std::min<std::size_t>(5, tried_.size()); ++i)
      res_.best.push_back(tried_[i]);
    return std::move(res_);
  }

 private:
  void profile() {
    scenario s = parse_scenario(toml_text(base_), "repro-base.toml");
    driver_options d = driver_for(o_);
    d.legacy_bugs.clear();  // the points are where the code makes its calls
    d.observe = [&](const timeline& tl, const run_outcome&) { points_ = traced_points(tl); };
    scenario_result r = run_scenario(traced(s), s.seed, d);
    // A stall outlasts a run, and the handshake the evidence's clients gave up on.
    stall_ms_ =
        std::max({1000, static_cast<int>(r.seconds * 5 * 1000), 2 * sig_.connect_timeout_ms});
    for (auto& p : process_points(s)) points_.push_back(p);
    std::printf("repro: profiled the base scenario (%.1f s)\n", r.seconds);
  }

  bool over_budget() const {
    return std::chrono::duration<double>(steady::now() - started_).count() > o_.budget_min * 60;
  }

  // Tries one candidate: once, then again up to ten runs when it matched.
  void try_one(const candidate& c, std::size_t i) {
    const toml::table t =
        with_candidate(base_, c, fmt::format("repro-candidate-{}", i + 1), stall_ms_);
    auto m = run_once(o_, sig_, t);
    if (!m) return;
    tried x{c, 1, m->reproduced ? 1 : 0, m->closeness, m->missing};
    if (m->reproduced) {
      if (o_.verbosity > 0) std::printf("repro: %s matched; rerunning\n", c.what().c_str());
      x.reproduced += reproductions(o_, sig_, t, accept_runs - 1);
      x.runs = accept_runs;
    }
    std::lock_guard lock(mu_);
    tried_.push_back(x);
    best_rate_ = std::max(best_rate_, x.reproduced);
    if (x.reproduced >= accept_min && !res_.found) {
      res_.found = x;
      res_.scenario = t;
    }
  }

  void execute(const std::vector<candidate>& all) {
    std::atomic<std::size_t> next{0}, finished{0};
    const bool tty = ::isatty(STDERR_FILENO) == 1;
    auto work = [&] {
      for (;;) {
        if (interrupt_requested()) {
          res_.interrupted = true;
          return;
        }
        {
          std::lock_guard lock(mu_);
          if (res_.found) return;
          if (over_budget()) {
            res_.stopped_because = fmt::format("the budget of {} min", o_.budget_min);
            return;
          }
        }
        const std::size_t i = next.fetch_add(1);
        if (i >= all.size()) return;
        try_one(all[i], i);
        ++finished;
        if (tty) progress(finished, all.size());
      }
    };
    std::vector<std::thread> threads;
    for (int t = 0; t < std::max(1, o_.jobs); ++t) threads.emplace_back(work);
    for (auto& t : threads) t.join();
    if (tty) std::fprintf(stderr, "\n");
    res_.tried_count = finished;
    if (res_.interrupted) res_.stopped_because = "interrupted (SIGINT)";
  }

  void progress(std::size_t done, std::size_t total) {
    std::lock_guard lock(mu_);
    const double el = std::chrono::duration<double>(steady::now() - started_).count();
    const double by_rate = el / static_cast<double>(done) * static_cast<double>(total - done);
    const double eta = std::min(by_rate, std::max(0.0, o_.budget_min * 60 - el));
    std::fprintf(stderr,
                 "\rrepro: candidates tried %zu/%zu, best rate %d/%d, %.0f s, ETA %.0f s   ", done,
                 total, best_rate_, accept_runs, el, eta);
  }

  const repro_options& o_;
  const signature& sig_;
  const toml::table& base_;
  steady::time_point started_;
  std::vector<fault_point> points_;
  int stall_ms_ = 1000;
  std::mutex mu_;
  std::vector<tried> tried_;
  int best_rate_ = 0;
  search_result res_;
};

}  // namespace

toml::table with_candidate(const toml::table& base, const candidate& c, const std::string& name,
                           int stall_ms) {
  toml::table t = base;
  t.insert_or_assign("name", name);
  if (c.faults.empty()) return t;
  std::optional<pair_judgement> judged;
  if (c.faults.size() == 2) {
    judged = judged_as(c.faults[0], c.faults[1]);
    // A stall and a hard fault on two peers: judged as hard, costing either.
    if (!judged)
      judged = pair_judgement{"hard", c.faults[0].point.peer + "," + c.faults[1].point.peer};
  }
  if (!judged) judged = pair_judgement{c.faults[0].fx.fault_class, c.faults[0].point.peer};
  t.insert_or_assign("description", fmt::format("{} ({} fault), found by faultmux repro", c.what(),
                                                judged->fault_class));
  t.insert_or_assign("expect", toml::table{{"fault_class", judged->fault_class},
                                           {"faulted_peer", judged->faulted_peer}});
  toml::array faults;
  for (const auto& f : c.faults) {
    if (f.point.call == "process") {
      add_process_fault(t, f, stall_ms);
      continue;
    }
    toml::table r{{"kind", "syscall"}, {"rule", f.point.rule(f.fx.name)}};
    if (f.point.in_worker()) r.insert("in", "workers");
    faults.push_back(std::move(r));
  }
  if (!faults.empty()) t.insert_or_assign("faults", std::move(faults));
  return t;
}

int reproductions(const repro_options& o, const signature& sig, const toml::table& t, int runs) {
  int ok = 0;
  for (int i = 0; i < runs && !interrupt_requested(); ++i) {
    auto m = run_once(o, sig, t);
    if (m && m->reproduced) ++ok;
    // 9 in 10 is out of reach once two runs missed.
    if (i + 1 - ok > accept_runs - accept_min) break;
  }
  return ok;
}

search_result search(const repro_options& o, const signature& sig, const toml::table& base) {
  return searcher(o, sig, base).go();
}

}  // namespace faultmux::repro
