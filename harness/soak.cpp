#include "harness/soak.hpp"

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <thread>

#include <fmt/format.h>

#include "harness/deadline.hpp"
#include "harness/driver.hpp"
#include "harness/fault_packages/fault_package.hpp"
#include "harness/install_paths.hpp"
#include "harness/proc_diagnosis.hpp"
#include "harness/report_timeline.hpp"
#include "harness/target_command.hpp"
#include "harness/version.hpp"
#include "harness/worker_command.hpp"
#include "harness/worker_set.hpp"
#include "roles/process.hpp"

namespace faultmux {
namespace {

using wl = worker_group::workload_t;
constexpr std::size_t evidence_kept = 20;

// Why `s` cannot be soaked, or "": only faults that hold for the whole time
// (the mux's syscall rules) and workloads that can run again and again.
std::string unsoakable(const scenario& s, const target_spec& t) {
  if (t.kind == target_spec::kind_t::fake_listener) return "a fake-listener target serves no work";
  for (std::size_t i = 0; i < s.faults.size(); ++i) {
    const auto& f = s.faults[i];
    if (f.kind != fault_spec::kind_t::syscall || f.in == "workers")
      return fmt::format(
          "fault {} ({}{}) is not a syscall rule of the mux: only those hold for a "
          "whole soak",
          i + 1, fault_kind_name(f.kind), f.in == "workers" ? " in the workers" : "");
  }
  bool cycling = false;
  for (const auto& g : s.workers) {
    if (g.workload == wl::echo || g.workload == wl::calls)
      cycling = true;
    else if (g.workload != wl::serve)
      return fmt::format("group {} ({}) cannot cycle: a soak cycles echo and calls workers", g.name,
                         workload_name(g.workload));
    if (!g.fault_at.empty() || g.start_after_ms > 0 || !g.path.empty())
      return fmt::format("group {} has a fault_at, start_after_ms or path of its own", g.name);
  }
  return cycling ? "" : "no echo or calls group to cycle";
}

// A soak writes no events: the values after --events, and the shim's fault
// log, go to /dev/null, or a long soak would fill the disk.
void quiet(std::vector<std::string>& argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "--events") argv[i + 1] = "/dev/null";
  for (auto& a : argv)
    if (a.starts_with("FAULTMUX_FAULT_LOG=")) a = "FAULTMUX_FAULT_LOG=/dev/null";
}

std::string clock_text(double s) {
  const long t = static_cast<long>(s);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}

// One cycling worker's slot: a worker of its group, started again each time one ends.
struct cycler {
  const worker_group* group = nullptr;
  int index = 0;
  std::string name, stderr_path;
  child_process proc;
  run_clock::time_point started{};
  long long cycle = 0;
  bool running = false;
};

class soak_run {
 public:
  soak_run(const scenario& s, const driver_options& o, double seconds)
      : s_(s),
        o_(o),
        seconds_(seconds),
        faults_(packages_for(s_)),
        t_(effective_target(s.target, o.target, o.mitogen_src)),
        small_worker_(find_install_paths(o.self).small_worker) {}

  std::string setup_error() const { return setup_error_; }

  // The whole soak; phases_ and the record filled.
  soak_record go() {
    const auto from = run_clock::now();
    setup_error_ = unsoakable(s_, t_);
    if (setup_error_.empty() && make_dir() && start_mux() && start_serve()) {
      phase_marks_.push_back(run_clock::now());
      cycle();
      phase_marks_.push_back(run_clock::now());
      stop();
    }
    while (phase_marks_.size() < 2) phase_marks_.push_back(run_clock::now());
    phase_marks_.insert(phase_marks_.begin(), from);
    record_.samples = sampler_.samples();
    return record_;
  }

  const std::vector<run_clock::time_point>& phase_marks() const { return phase_marks_; }
  pid_t mux_pid() const { return target_.pid(); }
  int interval_ms() const { return sampler_.interval_ms(); }
  std::optional<long long> baseline_fds() const { return baseline_fds_; }
  int serve_workers() const { return static_cast<int>(serve_.all().size()); }
  const std::string& dir() const { return dir_; }

 private:
  bool make_dir() {
    std::string tmpl = run_dir_base() + "/faultmux-soak-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      setup_error_ = fmt::format("cannot make a run directory {}: {}", tmpl, std::strerror(errno));
      return false;
    }
    dir_ = tmpl;
    paths_ = run_paths(dir_);
    return true;
  }

  bool start_mux() {
    target_launch launch{o_.self, o_.legacy_bugs, {}};
    for (const auto& p : faults_) p->shape_target(launch.faults);
    std::vector<std::string> argv;
    if (!launch.faults.shim_rules.empty()) {
      const std::string shim = o_.shim.empty() ? default_shim_path(o_.self) : o_.shim;
      if (::access(shim.c_str(), R_OK) != 0) {
        setup_error_ =
            fmt::format("the syscall shim {} cannot be read: {}", shim, std::strerror(errno));
        return false;
      }
      argv =
          shim_prefix(shim, launch.faults.shim_rules, s_.seed, paths_, std::getenv("ASAN_OPTIONS"));
    }
    target_argv_ = target_argv(s_, t_, launch, paths_);
    argv.insert(argv.end(), target_argv_.begin(), target_argv_.end());
    quiet(argv);
    try {
      target_ = child_process::spawn(argv, true, dir_ + "/mux.stderr");
    } catch (const std::exception& e) {
      setup_error_ = fmt::format("cannot start the mux: {}", e.what());
      return false;
    }
    const auto end = run_clock::now() + ms(10000);
    while (!interrupt_requested() && left(end).count() > 0) {
      auto line = target_.read_line(std::min(left(end), ms(100)));
      if (line && *line == "listening " + paths_.socket) {
        if (auto p = sample_process(target_.pid())) baseline_fds_ = p->fds;
        sampler_.start(target_.pid());
        return true;
      }
      if (target_.wait(ms(0))) break;
    }
    setup_error_ = fmt::format("the mux did not listen on {} within 10 s: {}", paths_.socket,
                               tail_of(dir_ + "/mux.stderr", 600));
    return false;
  }

  worker_launch launch() const {
    return {o_.self,      small_worker_,      s_.seed,
            target_argv_, serve_.serve_ids(), serve_.ids_by_group(),
            &faults_};
  }

  child_process spawn_worker(const worker_group& g, int i, const std::string& stderr_path) {
    std::vector<std::string> argv = worker_argv(s_, t_, g, i, launch(), paths_);
    quiet(argv);
    return child_process::spawn(argv, true, stderr_path,
                                {fmt::format("FAULTMUX_PEER={}:{}", g.name, i)});
  }

  // The serve groups, for the whole soak; their context ids before any cycling worker.
  bool start_serve() {
    try {
      for (const auto& g : s_.workers)
        for (int i = 0; g.workload == wl::serve && i < g.count; ++i) {
          worker_proc w{worker_name(g, i), &g, i, {}, std::nullopt, false};
          w.proc = spawn_worker(g, i, fmt::format("{}/{}.stderr", dir_, w.name));
          serve_.add(std::move(w));
        }
    } catch (const std::exception& e) {
      setup_error_ = fmt::format("cannot start a serve worker: {}", e.what());
      return false;
    }
    const auto end = run_clock::now() + ms(s_.timeout_ms);
    serve_.read_serve_ids([] {}, [&] { return interrupt_requested() || left(end).count() == 0; });
    for (const auto& w : serve_.all())
      if (!w.id) {
        setup_error_ = fmt::format("{} did not say its context id: {}", w.name,
                                   tail_of(fmt::format("{}/{}.stderr", dir_, w.name), 600));
        return false;
      }
    return true;
  }

  void start(cycler& c) {
    // Each cycle's stderr alone: what a lost cycle quotes is its own.
    ::unlink(c.stderr_path.c_str());
    try {
      c.proc = spawn_worker(*c.group, c.index, c.stderr_path);
    } catch (const std::exception& e) {
      lose(c, fmt::format("cannot start: {}", e.what()));
      return;
    }
    c.started = run_clock::now();
    c.running = true;
    ++c.cycle;
  }

  void lose(const cycler& c, const std::string& why) {
    ++record_.lost;
    if (record_.lost_evidence.size() < evidence_kept)
      record_.lost_evidence.push_back(fmt::format("{} (cycle {}): {}; stderr: {}", c.name, c.cycle,
                                                  why, tail_of(c.stderr_path, 300)));
  }

  // A cycle that ended: its "done ok=N failed=M" line and its exit status.
  void ended(cycler& c, int status) {
    c.running = false;
    ++record_.cycles;
    int ok = 0, failed = 0;
    bool done = false;
    while (auto line = c.proc.read_line(ms(100)))
      done = done || std::sscanf(line->c_str(), "done ok=%d failed=%d", &ok, &failed) == 2;
    record_.messages += ok;
    if (status != 0 || !done || failed > 0 || ok < c.group->messages)
      lose(c, fmt::format("{}, {}", describe_status(status),
                          done ? fmt::format("done ok={} failed={}", ok, failed)
                               : std::string("no done line")));
  }

  void check_mux(run_clock::time_point from) {
    if (!record_.crash.empty() || !target_.wait(ms(0))) return;
    record_.crash = fmt::format("the mux exited ({}) {:.1f} s into the soak: {}",
                                describe_status(*target_.status()),
                                std::chrono::duration<double>(run_clock::now() - from).count(),
                                tail_of(dir_ + "/mux.stderr", 600));
  }

  void cycle() {
    std::vector<cycler> slots;
    for (const auto& g : s_.workers)
      for (int i = 0; g.workload != wl::serve && i < g.count; ++i)
        slots.push_back({&g,
                         i,
                         worker_name(g, i),
                         fmt::format("{}/{}.stderr", dir_, worker_name(g, i)),
                         {},
                         {},
                         0,
                         false});
    const auto from = run_clock::now(),
               end = from + std::chrono::duration_cast<ms>(std::chrono::duration<double>(seconds_));
    for (auto& c : slots) start(c);
    auto shown = from;
    for (;;) {
      check_mux(from);
      const bool more = left(end).count() > 0 && record_.crash.empty() && !interrupt_requested();
      bool any = false;
      for (auto& c : slots) {
        if (!c.running) continue;
        if (auto st = c.proc.wait(ms(0))) {
          ended(c, *st);
          if (more) start(c);
        } else if (run_clock::now() - c.started > ms(s_.timeout_ms)) {
          kill_and_reap(c.proc);
          c.running = false;
          ++record_.cycles;
          lose(c, fmt::format("still running {} ms after it started: killed", s_.timeout_ms));
          if (more) start(c);
        }
        any = any || c.running;
      }
      if (!any) break;
      if (run_clock::now() - shown >= ms(1000)) {
        shown = run_clock::now();
        progress(std::chrono::duration<double>(shown - from).count());
      }
      std::this_thread::sleep_for(ms(5));
    }
    record_.seconds = std::chrono::duration<double>(run_clock::now() - from).count();
    if (::isatty(STDERR_FILENO)) std::fprintf(stderr, "\r\033[K");
  }

  // On a terminal: how far the soak is, and the mux's last sample.
  void progress(double elapsed) const {
    if (!::isatty(STDERR_FILENO)) return;
    auto samples = sampler_.samples();
    std::string mux = samples.empty() ? std::string("no sample yet")
                                      : fmt::format("mux RSS {:.1f} MiB, {} fds, {} threads",
                                                    samples.back().rss_kib / 1024.0,
                                                    samples.back().fds, samples.back().threads);
    std::fprintf(stderr, "\r\033[Ksoak %s %s of %s: %lld cycles, %lld messages, %lld lost; %s",
                 s_.name.c_str(), clock_text(elapsed).c_str(), clock_text(seconds_).c_str(),
                 record_.cycles, record_.messages, record_.lost, mux.c_str());
  }

  // The serve workers, then the mux, which must exit cleanly on SIGTERM.
  void stop() {
    sampler_.stop();
    std::vector<std::string> hang;
    serve_.terminate(hang, [] { return false; });
    if (!record_.crash.empty()) return;
    target_.signal(SIGTERM);
    const ms grace = target_stop_grace(t_);
    auto st = target_.wait(grace);
    if (!st) {
      record_.crash = fmt::format("the mux did not exit within {} ms of SIGTERM: {}", grace.count(),
                                  proc_state(target_.pid()));
      kill_and_reap(target_);
    } else if (!WIFEXITED(*st) || WEXITSTATUS(*st) != 0) {
      record_.crash = fmt::format("the mux ended with {} after SIGTERM: {}", describe_status(*st),
                                  tail_of(dir_ + "/mux.stderr", 600));
    }
  }

  const scenario& s_;
  const driver_options& o_;
  double seconds_;
  fault_packages faults_;
  target_spec t_;
  // Looked up once: a soak starts hundreds of workers a second.
  std::string small_worker_;
  std::string dir_;
  run_paths paths_;
  std::string setup_error_;
  std::vector<std::string> target_argv_;
  child_process target_;
  worker_set serve_;
  resource_sampler sampler_{50, 900};
  std::optional<long long> baseline_fds_;
  soak_record record_;
  std::vector<run_clock::time_point> phase_marks_;  // start, cycling, stopping
};

}  // namespace

namespace {

std::vector<reports::phase_entry> soak_phases(const std::vector<run_clock::time_point>& marks,
                                              run_clock::time_point judge_from,
                                              run_clock::time_point ended) {
  auto s = [](run_clock::time_point a, run_clock::time_point b) {
    return std::max(0.0, std::chrono::duration<double>(b - a).count());
  };
  return {{"spawn", s(marks[0], marks[1])},
          {"traffic", s(marks[1], marks[2])},
          {"stop", s(marks[2], judge_from)},
          {"judge", s(judge_from, ended)}};
}

reports::soak_info soak_figures(const soak_record& r, const soak_bounds& b) {
  reports::soak_info info{r.seconds, r.cycles, r.messages, r.lost, {}};
  info.metrics = {
      {"rss_kib", second_half_slope(r.samples, &resource_point::rss_kib), b.rss_kib_per_min},
      {"fds", second_half_slope(r.samples, &resource_point::fds), b.fds_per_min},
      {"threads", second_half_slope(r.samples, &resource_point::threads), b.threads_per_min}};
  return info;
}

void print_soak(const reports::scenario_entry& e, const driver_options& o) {
  std::printf("%s %s (soak %.1f min: %lld cycles, %lld messages)\n",
              e.verdict == reports::verdict::pass ? "PASS" : "FAIL", e.name.c_str(),
              e.soak->seconds / 60, e.soak->cycles, e.soak->messages);
  for (const auto& orc : e.oracles) {
    std::printf("  %s: %s\n", orc.name.c_str(), verdict_name(orc.verdict));
    if (orc.verdict == reports::verdict::fail || o.verbosity > 0 || orc.name == "no growth")
      for (const auto& l : orc.evidence) std::printf("    %s\n", l.c_str());
  }
  if (e.verdict != reports::verdict::pass) std::printf("rerun: %s\n", e.rerun.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_soak(const driver_options& o, double minutes) {
  if (o.paths.size() != 1 || minutes <= 0) {
    std::fprintf(stderr, "faultmux run --soak: give one scenario file and a time above 0\n");
    return 2;
  }
  scenario s;
  try {
    s = load_scenario(o.paths[0]);
  } catch (const scenario_error& e) {
    std::fprintf(stderr, "faultmux run: %s\n", e.what());
    return 2;
  }
  stop_on_interrupt();
  const auto started = run_clock::now();
  const std::string when = reports::utc_now();
  soak_run run(s, o, minutes * 60);
  soak_record rec = run.go();
  if (!run.setup_error().empty()) {
    std::fprintf(stderr, "faultmux run --soak %s: %s\n", s.name.c_str(), run.setup_error().c_str());
    return 2;
  }
  const auto judge_from = run_clock::now();
  const soak_bounds bounds;
  reports::scenario_entry e;
  e.file = s.file;
  e.name = s.name;
  e.origin = s.origin;
  e.description = s.description;
  e.target = target_name(s.target, o.target);
  e.seed = s.seed;
  e.legacy_bugs = o.legacy_bugs;
  e.rerun = fmt::format("{} run --soak {} {}", faultmux_command(), minutes, s.file);
  for (auto& r : judge_soak(rec, bounds)) e.oracles.push_back({r.name, r.v, r.evidence});
  const bool failed = std::any_of(e.oracles.begin(), e.oracles.end(), [](const auto& x) {
    return x.verdict == reports::verdict::fail;
  });
  e.verdict = interrupt_requested() ? reports::verdict::error
              : failed              ? reports::verdict::fail
                                    : reports::verdict::pass;
  e.workers_total = run.serve_workers() + static_cast<int>(rec.cycles);
  e.soak = soak_figures(rec, bounds);
  if (!rec.samples.empty())
    e.resources = resources_of(run.mux_pid(), run.interval_ms(), run.baseline_fds(), rec.samples,
                               rec.samples.front().t);
  const auto ended = run_clock::now();
  e.phases = soak_phases(run.phase_marks(), judge_from, ended);
  e.duration_s = std::chrono::duration<double>(ended - started).count();
  print_soak(e, o);
  if (e.verdict == reports::verdict::pass) {
    std::error_code ec;
    std::filesystem::remove_all(run.dir(), ec);
  } else {
    std::printf("run directory kept: %s\n", run.dir().c_str());
  }
  if (!o.report_dir.empty()) {
    reports::results report;
    report.run = {std::nullopt, faultmux_version_line(),     o.command_line, when,
                  e.duration_s, reports::collect_host_info()};
    report.scenarios.push_back(std::move(e));
    if (std::string err = reports::write_reports(report, o.report_dir); !err.empty()) {
      std::fprintf(stderr, "faultmux run: report: %s\n", err.c_str());
      return 2;
    }
    std::printf("report: %s/results.json, %s/junit.xml\n", o.report_dir.c_str(),
                o.report_dir.c_str());
  }
  std::fflush(stdout);
  if (interrupt_requested()) return 130;
  return failed ? 1 : 0;
}

}  // namespace faultmux
