// `faultmux run` as a command: picks the scenarios, runs each --repeat times
// on --jobs threads, prints one line per run in a fixed order (the order of
// the files, then of the repetitions, whatever order they finish in), and
// writes the report.
#include <fnmatch.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "harness/driver.hpp"
#include "harness/version.hpp"
#include "reports/html.hpp"

namespace faultmux {
namespace {

using clock = std::chrono::steady_clock;

struct job {
  const scenario* s;
  int repeat;
  const driver_options* o;  // its target: the run's, or Mitogen for --with-mitogen
};

// " [mitogen]" after a scenario's name, " #3" for a repetition.
std::string label(const scenario_result& r, int repeats) {
  std::string out = r.name;
  if (r.target != "builtin") out += " [" + r.target + "]";
  if (!r.legacy_bugs.empty())
    out += fmt::format(" [legacy bug: {}]", fmt::join(r.legacy_bugs, ", "));
  if (repeats > 1) out += " #" + std::to_string(r.repeat);
  return out;
}

void print_result(const scenario_result& r, const driver_options& o) {
  if (r.interrupted) {
    std::printf("INTERRUPTED %s (%.1f s): its processes were killed and reaped\n",
                label(r, o.repeat).c_str(), r.seconds);
    return;
  }
  if (r.passed && !r.unserved.empty()) {
    std::printf(
        "N/A  %s (%.1f s): the calls of group%s %s need faultmux.ContextService, which this target "
        "does not serve; nothing that could be judged failed\n",
        label(r, o.repeat).c_str(), r.seconds, r.unserved.size() > 1 ? "s" : "",
        fmt::format("{}", fmt::join(r.unserved, ", ")).c_str());
  } else if (r.passed) {
    std::printf("PASS %s (%.1f s)\n", label(r, o.repeat).c_str(), r.seconds);
  } else {
    // What happened first (the headline, or the first failed expectation),
    // then what the harness could not do, then the expectations.
    const oracle_result* f = first_failure(r.oracles);
    const char* word = verdict_of(r) == verdict::error ? "ERROR" : "FAIL";
    if (!r.report.headline.empty())
      std::printf("%s %s: %s\n", word, label(r, o.repeat).c_str(), r.report.headline.c_str());
    else
      std::printf("%s %s: %s: %s\n", word, label(r, o.repeat).c_str(), f ? f->name.c_str() : "?",
                  f && !f->evidence.empty() ? f->evidence.front().c_str() : "");
    for (const auto& n : r.report.notices) std::printf("  ! %s\n", n.c_str());
    std::printf("  rerun: %s\n", rerun_command(r).c_str());
    if (!r.kept_dir.empty()) std::printf("  run directory kept: %s\n", r.kept_dir.c_str());
  }
  if (o.verbosity > 0 || !r.passed) {
    for (const auto& orc : r.oracles) {
      if (o.verbosity == 0 && !is_failure(orc.v)) continue;
      std::printf("  %s: %s\n", orc.name.c_str(), verdict_name(orc.v));
      for (const auto& l : orc.evidence) std::printf("    %s\n", l.c_str());
    }
    if (o.verbosity > 0) std::printf("  workers started in %.1f ms\n", r.start_ms);
  }
  std::fflush(stdout);
}

int workers_of(const scenario& s) {
  int n = 0;
  for (const auto& g : s.workers) n += g.count;
  return n;
}

// Runs the jobs on `o.jobs` threads and hands each result to `done` in job
// order, as soon as it and every job before it have finished. Stops taking
// jobs once SIGINT came. On a terminal, a progress line says which scenarios
// are under way, how many of their workers have started, and for how long.
void run_jobs(const std::vector<job>& jobs, const driver_options& o,
              const std::function<void(const scenario_result&)>& done) {
  struct slot {
    std::optional<scenario_result> result;
    scenario_progress progress;
    std::optional<clock::time_point> started;
  };
  std::mutex m;
  std::condition_variable cv;
  std::vector<slot> slots(jobs.size());
  std::size_t next = 0, threads_done = 0;
  const std::size_t nthreads = std::min(static_cast<std::size_t>(std::max(1, o.jobs)), jobs.size());
  auto work = [&] {
    std::unique_lock lock(m);
    while (next < jobs.size() && !interrupt_requested()) {
      const std::size_t i = next++;
      slots[i].started = clock::now();
      lock.unlock();
      scenario_result r = run_scenario(*jobs[i].s, o.seed.value_or(jobs[i].s->seed), *jobs[i].o,
                                       &slots[i].progress);
      r.repeat = jobs[i].repeat;
      lock.lock();
      slots[i].result = std::move(r);
      cv.notify_all();
    }
    ++threads_done;
    cv.notify_all();
  };
  const bool tty = ::isatty(STDERR_FILENO);
  auto progress = [&](std::size_t i) {  // called with m held
    std::string line = fmt::format("[{}/{}]", i + 1, jobs.size());
    for (std::size_t k = i; k < slots.size(); ++k) {
      if (!slots[k].started || slots[k].result) continue;
      line += fmt::format(" {} ({}/{} workers, {:.1f} s)", jobs[k].s->name,
                          slots[k].progress.workers_started.load(), workers_of(*jobs[k].s),
                          std::chrono::duration<double>(clock::now() - *slots[k].started).count());
    }
    std::fprintf(stderr, "\r\033[K%s", line.c_str());
  };
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < nthreads; ++t) threads.emplace_back(work);
  std::unique_lock lock(m);
  for (std::size_t i = 0; i < jobs.size(); ++i) {
    auto ready = [&] { return slots[i].result.has_value() || threads_done == nthreads; };
    while (!ready()) {
      if (tty) progress(i);
      cv.wait_for(lock, std::chrono::milliseconds(250), ready);
    }
    if (!slots[i].result) break;  // interrupted before it started
    scenario_result r = std::move(*slots[i].result);
    lock.unlock();
    if (tty) std::fprintf(stderr, "\r\033[K");
    done(r);
    lock.lock();
  }
  lock.unlock();
  for (auto& t : threads) t.join();
}

// Each scenario matching --filter, --repeat times; with legacy bugs also
// without them (`clean`), beside: the report's matrix then shows the clean
// column next to the bug's; with --with-mitogen also against Mitogen.
std::vector<job> jobs_of(const std::vector<scenario>& all, const driver_options& o,
                         const driver_options& clean, const driver_options& against_mitogen) {
  std::vector<job> jobs;
  for (bool finding : {false, true}) {
    if (finding && (!o.with_mitogen || o.target == "mitogen")) continue;
    for (const auto& s : all)
      // A fake-listener scenario keeps its own target: it ran already.
      if ((o.filter.empty() || ::fnmatch(o.filter.c_str(), s.name.c_str(), 0) == 0) &&
          !(finding && s.target.kind == target_spec::kind_t::fake_listener))
        for (int k = 1; k <= o.repeat; ++k) {
          if (!finding && !o.legacy_bugs.empty()) jobs.push_back({&s, k, &clean});
          jobs.push_back({&s, k, finding ? &against_mitogen : &o});
        }
  }
  return jobs;
}

}  // namespace

int run_driver(const driver_options& o) {
  std::vector<scenario> all;
  try {
    for (const auto& f : scenario_files(o.paths)) all.push_back(load_scenario(f));
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux run: %s\n", e.what());
    return 2;
  }
  driver_options against_mitogen = o;
  against_mitogen.target = "mitogen";
  driver_options clean = o;
  clean.legacy_bugs.clear();
  const std::vector<job> jobs = jobs_of(all, o, clean, against_mitogen);
  if (jobs.empty()) {
    std::fprintf(stderr, "faultmux run: no scenario%s%s\n",
                 o.filter.empty() ? " in the given paths" : " matches --filter ", o.filter.c_str());
    return 2;
  }
  stop_on_interrupt();
  reports::results report;
  report.run.seed = o.seed;
  report.run.faultmux_version = faultmux_version_line();
  report.run.command_line = o.command_line;
  report.run.started = reports::utc_now();
  report.run.host = reports::collect_host_info();
  report.scenarios = o.prelude;
  const auto run_start = clock::now();
  // passed, not applicable, failed, error: judged, and --with-mitogen's findings.
  std::array<int, 4> judged{}, findings{};
  // Per scenario and target, how many of its repetitions passed.
  std::map<std::string, std::pair<int, int>> tally;
  run_jobs(jobs, o, [&](const scenario_result& r) {
    print_result(r, o);
    if (r.interrupted) return;
    report.scenarios.push_back(report_entry(r));
    auto& counts = r.target == "mitogen" && o.target != "mitogen" ? findings : judged;
    counts[verdict_of(r) == verdict::error ? 3 : !r.passed ? 2 : r.unserved.empty() ? 0 : 1]++;
    auto& [ok, runs] = tally[label(r, 1)];
    ok += r.passed ? 1 : 0;
    ++runs;
  });
  if (o.repeat > 1)
    for (const auto& [name, t] : tally)
      if (t.first != t.second)
        std::printf("%s: %d of %d runs passed%s\n", name.c_str(), t.first, t.second,
                    t.first > 0 ? " (flaky)" : "");
  // Errors (a run the harness could not make as asked) are counted apart from failures.
  auto counts = [](const std::array<int, 4>& c) {
    return fmt::format("{} passed, {}{} failed{}", c[0],
                       c[1] ? fmt::format("{} not applicable, ", c[1]) : "", c[2],
                       c[3] ? fmt::format(", {} error{}", c[3], c[3] > 1 ? "s" : "") : "");
  };
  if (o.with_mitogen && o.target != "mitogen")
    std::printf("against Mitogen 0.3.3 (findings, not counted in the exit status): %s\n",
                counts(findings).c_str());
  std::printf("%s%s\n", counts(judged).c_str(), interrupt_requested() ? ", interrupted" : "");
  if (!o.report_dir.empty()) {
    report.run.duration_s = std::chrono::duration<double>(clock::now() - run_start).count();
    std::string err = reports::write_reports(report, o.report_dir);
    if (err.empty() && o.report_html) err = reports::write_html({to_json(report)}, o.report_dir);
    if (!err.empty()) {
      std::fprintf(stderr, "faultmux run: report: %s\n", err.c_str());
      std::fflush(stdout);
      return 2;
    }
    std::printf("report: %s%s/results.json, %s/junit.xml\n",
                o.report_html ? (o.report_dir + "/index.html, ").c_str() : "", o.report_dir.c_str(),
                o.report_dir.c_str());
  }
  std::fflush(stdout);
  if (interrupt_requested()) return 130;
  return judged[2] || judged[3] ? 1 : 0;
}

}  // namespace faultmux
