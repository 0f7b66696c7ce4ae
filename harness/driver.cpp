#include "harness/driver.hpp"
#include "harness/explore/single_fault_oracles.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <fmt/format.h>

#include "faults/event_log.hpp"
#include "harness/deadline.hpp"
#include "harness/external_target.hpp"
#include "harness/fault_packages/fault_package.hpp"
#include "harness/install_paths.hpp"
#include "harness/probe.hpp"
#include "harness/probe_process.hpp"
#include "harness/proc_diagnosis.hpp"
#include "harness/report_timeline.hpp"
#include "harness/resource_sampler.hpp"
#include "harness/run_framing.hpp"
#include "harness/run_state.hpp"
#include "harness/stale_socket.hpp"
#include "harness/target_command.hpp"
#include "harness/timeline.hpp"
#include "harness/worker_command.hpp"
#include "harness/worker_set.hpp"
#include "roles/process.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

namespace fs = std::filesystem;

std::atomic<bool> interrupted{false};

void on_interrupt(int) {
  interrupted.store(true);
}

bool is_serve(const worker_group& g) {
  return g.workload == worker_group::workload_t::serve;
}

// The syscall rules a scenario aims at its workers (in = "workers").
std::vector<std::string> worker_rules(const scenario& s) {
  std::vector<std::string> out;
  for (const auto& f : s.faults)
    if (f.kind == fault_spec::kind_t::syscall && f.in == "workers") out.push_back(f.rule);
  return out;
}

// Worker `index` of group `g` numbered across the scenario's groups, in
// their order: its FAULTMUX_INDEX, the same in every run.
int worker_ordinal(const scenario& s, const worker_group& g, int index) {
  int n = 0;
  for (const auto& other : s.workers) {
    if (&other == &g) break;
    n += other.count;
  }
  return n + index;
}

// One run of a scenario: its target, its workers, the faults the packages
// drive, the probe, and the judgement.
class scenario_run final : public fault_scene, run_state {
 public:
  scenario_run(const scenario& s, std::uint64_t seed, const driver_options& o,
               scenario_progress* progress)
      : run_state(s, seed, o), progress_(progress) {}

  scenario_result go() {
    auto started = run_clock::now();
    // Orphans of the run (a context whose parent context was killed) come to
    // the driver, which reaps them, rather than to an init that may be slow to.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    make_dir();
    if (setup_error_.empty() && start_target()) drive();
    stop_from_ = stop_from_.value_or(run_clock::now());  // a run cut short: finish() stops it
    finish();
    const auto judge_from = run_clock::now();
    scenario_result r = judged();
    const auto ended = run_clock::now();
    r.seconds = std::chrono::duration<double>(ended - started).count();
    r.report.phases = phases_of(started, judge_from, ended);
    if (!paths_.dir.empty()) {
      if (!r.passed && o_.verbosity > 0) {
        r.kept_dir = paths_.dir;
      } else {
        std::error_code ec;
        fs::remove_all(paths_.dir, ec);
      }
    }
    return r;
  }

  // fault_scene: what the fault packages act on.
  std::vector<pid_t> processes(const std::string& process) const override {
    if (process == "mux") return {target_.pid()};
    return workers_.live_pids(process);
  }
  void at(run_clock::time_point due, std::function<void()> act) override {
    actions_.at(due, std::move(act));
  }
  void record(const char* kind, std::size_t index, pid_t pid, const std::string& what,
              int err) override {
    log_.emit(wire::ev::fault, {{"kind", kind},
                                {"fault", index},
                                {"target_pid", pid},
                                {"what", what},
                                {"errno", err ? strerrorname_np(err) : ""}});
  }

 private:
  bool stop_now() const { return interrupted.load(); }

  void make_dir() {
    std::string tmpl = run_dir_base() + "/faultmux-run-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      setup_error_ = fmt::format("cannot make a run directory {}: {}", tmpl, std::strerror(errno));
      return;
    }
    paths_ = run_paths(tmpl);
    if (int err = log_.open(paths_.dir + "/driver.events", "driver"))
      setup_error_ =
          fmt::format("cannot open {}/driver.events: {}", paths_.dir, std::strerror(err));
  }

  // The target listens: the faults, the workers, the probe, the target's stop.
  void drive() {
    deadline_ = run_clock::now() + ms(s_.timeout_ms);
    schedule_faults(run_point::target_listening);
    run_due();
    start_workers();
    traffic_from_ = run_clock::now();
    if (stop_now()) return;
    schedule_faults(run_point::workers_started);
    wait_for_workers();
    if (stop_now()) return;
    probe_target();
    stop_from_ = run_clock::now();
    stop_target();
  }

  void schedule_faults(run_point point) {
    const auto now = run_clock::now();
    for (auto& p : faults_) p->schedule(*this, point, now);
  }

  // A stale socket file at `path`, as a mux killed before it could clean up leaves.
  bool leave_stale_socket(const std::string& path) {
    int err = make_stale_socket(path);
    log_.emit(wire::ev::stale_socket, {{"path", path}, {"errno", err ? strerrorname_np(err) : ""}});
    if (err)
      setup_error_ =
          fmt::format("cannot leave a stale socket file at {}: {}", path, std::strerror(err));
    return err == 0;
  }

  bool start_target() {
    target_launch launch{o_.self, o_.legacy_bugs, {}};
    for (const auto& p : faults_) p->shape_target(launch.faults);
    std::vector<std::string> argv;
    if (!launch.faults.shim_rules.empty() || !launch.faults.shim_env.empty()) {
      std::string shim = o_.shim.empty() ? default_shim_path(o_.self) : o_.shim;
      if (::access(shim.c_str(), R_OK) != 0) {
        setup_error_ =
            fmt::format("the syscall shim {} cannot be read: {}", shim, std::strerror(errno));
        return false;
      }
      argv = shim_prefix(shim, launch.faults.shim_rules, seed_, paths_, std::getenv("ASAN_OPTIONS"),
                         launch.faults.shim_env);
    }
    if (t_.stale_socket && !leave_stale_socket(paths_.socket)) return false;
    target_argv_ = target_argv(s_, t_, launch, paths_);
    argv.insert(argv.end(), target_argv_.begin(), target_argv_.end());
    // Before the spawn: its first events may come before spawn() returns.
    log_.emit(wire::ev::spawn, {{"name", "mux"}});
    try {
      target_ = child_process::spawn(argv, true, paths_.dir + "/mux.stderr");
    } catch (const std::exception& e) {
      setup_error_ = fmt::format("cannot start the mux: {}", e.what());
      return false;
    }
    return await_listening();
  }

  // The target's "listening PATH" line within 10 s; then its resources are sampled.
  bool await_listening() {
    auto end = run_clock::now() + ms(10000);
    while (!stop_now()) {
      auto line = target_.read_line(std::min(left(end), ms(100)));
      // An external target may say what it is first ("version mitogen 0.3.3 DIR").
      if (line && line->starts_with("version ")) target_version_ = line->substr(8);
      if (line && *line == "listening " + paths_.socket) {
        // Its fds before any client, then every 50 ms on the sampler's own
        // thread: the loops here keep their timing.
        if (auto p = sample_process(target_.pid())) baseline_fds_ = p->fds;
        sampler_.start(target_.pid(), paths_.socket);
        return true;
      }
      if ((!line && left(end).count() == 0) || target_.wait(ms(0))) break;
    }
    if (stop_now()) return false;
    std::string err = slurp(paths_.dir + "/mux.stderr");
    if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
    setup_error_ =
        fmt::format("the mux did not listen on {} within 10 s ({}); stderr: {}", paths_.socket,
                    target_.status() ? describe_status(*target_.status()) : "still running", err);
    return false;
  }

  void spawn_group(const worker_group& g) {
    const worker_launch launch{
        o_.self,
        worker_shim_env_.empty() ? find_install_paths(o_.self).small_worker : std::string(),
        seed_,
        target_argv_,
        workers_.serve_ids(),
        workers_.ids_by_group(),
        &faults_};
    if (g.workload == worker_group::workload_t::echo && !launch.ids_by_group.count(g.peer)) {
      // The peer group ran but none of it got through the target's
      // handshake: that is what the target did (the peers' failures are
      // judged), so the verdict is a failure, not a harness error.
      not_started_why_[g.name] = fmt::format(
          "no worker of its peer group {} said its context id (the target did not let them "
          "through)",
          g.peer);
      by_target_.insert(g.name);
      log_.emit(wire::ev::group_not_started,
                {{"group", g.name}, {"why", not_started_why_[g.name]}});
      return;
    }
    for (int i = 0; i < g.count && !stop_now(); ++i) {
      worker_proc w;
      w.name = worker_name(g, i);
      w.group = &g;
      w.index = i;
      log_.emit(wire::ev::spawn, {{"name", w.name}, {"group", g.name}, {"index", i}});
      try {
        // FAULTMUX_PEER names the worker to the shim in the target, which
        // reads it from the peer of a socket, and to its own shim, for
        // self= (see docs/faults.md).
        std::vector<std::string> env = worker_shim_env_;
        env.push_back(fmt::format("FAULTMUX_PEER={}:{}", g.name, i));
        if (!worker_shim_env_.empty())
          env.push_back(fmt::format("FAULTMUX_INDEX={}", worker_ordinal(s_, g, i)));
        w.proc = child_process::spawn(worker_argv(s_, t_, g, i, launch, paths_), true,
                                      fmt::format("{}/{}.stderr", paths_.dir, w.name), env);
      } catch (const std::exception& e) {
        setup_error_ = fmt::format("cannot start {}: {}", w.name, e.what());
        not_started_why_[g.name] = setup_error_;
        return;
      }
      first_spawn_ = first_spawn_.value_or(run_clock::now());
      last_spawn_ = run_clock::now();
      workers_.add(std::move(w));
      if (progress_) progress_->workers_started.fetch_add(1, std::memory_order_relaxed);
    }
  }

  // A group now, or start_after_ms from now.
  void start_group(const worker_group* g, bool delayed) {
    if (delayed) {
      at(run_clock::now() + ms(g->start_after_ms), [this, g] { spawn_group(*g); });
      return;
    }
    spawn_group(*g);
  }

  // The shim's environment for the workers when the scenario aims rules at
  // them: their events go to the run's faults.log with the target's.
  bool prepare_worker_shim() {
    const std::vector<std::string> rules = worker_rules(s_);
    if (rules.empty()) return true;
    std::string shim = o_.shim.empty() ? default_shim_path(o_.self) : o_.shim;
    if (::access(shim.c_str(), R_OK) != 0) {
      setup_error_ =
          fmt::format("the syscall shim {} cannot be read: {}", shim, std::strerror(errno));
      return false;
    }
    // The target's variables without /usr/bin/env in front: the worker's
    // pid stays the one the driver waits for.
    std::vector<std::string> prefix =
        shim_prefix(shim, rules, seed_, paths_, std::getenv("ASAN_OPTIONS"));
    for (std::size_t i = 1; i < prefix.size(); ++i)
      if (!prefix[i].starts_with("FAULTMUX_ROLE=") && !prefix[i].starts_with("FAULTMUX_INDEX="))
        worker_shim_env_.push_back(prefix[i]);
    worker_shim_env_.push_back("FAULTMUX_ROLE=worker");
    return true;
  }

  void start_workers() {
    using wl = worker_group::workload_t;
    if (!prepare_worker_shim()) return;
    if (std::any_of(s_.workers.begin(), s_.workers.end(),
                    [](const worker_group& g) { return g.path == "stale"; }) &&
        !leave_stale_socket(paths_.dir + "/stale.sock"))
      return;
    // Groups that need no context id start at once, serve groups first, so
    // they connect while a before_workers fault holds the mux; echo and
    // hostile groups follow once the serve workers said their ids.
    const bool any_serve = std::any_of(s_.workers.begin(), s_.workers.end(), is_serve);
    std::vector<const worker_group*> now, later;
    for (const auto& g : s_.workers) {
      bool needs_ids = g.workload == wl::echo || (g.workload == wl::hostile && any_serve);
      (needs_ids ? later : now).push_back(&g);
    }
    std::stable_partition(now.begin(), now.end(),
                          [](const worker_group* g) { return is_serve(*g); });
    for (const worker_group* g : now) start_group(g, g->start_after_ms > 0 && !is_serve(*g));
    read_serve_ids();
    for (const worker_group* g : later) start_group(g, g->start_after_ms > 0);
    if (first_spawn_)
      start_ms_ = std::chrono::duration<double, std::milli>(last_spawn_ - *first_spawn_).count();
    log_.emit(wire::ev::workers_started, {{"workers", workers_.all().size()}, {"ms", start_ms_}});
  }

  // Serve workers say their context ids before the groups that need them start.
  void read_serve_ids() {
    workers_.read_serve_ids([this] { run_due(); },
                            [this] { return stop_now() || left(deadline_).count() == 0; });
  }

  void run_due() { actions_.run_due(); }

  void wait_for_workers() {
    for (;;) {
      run_due();
      const bool running = !workers_.all_settled();
      if ((!running && actions_.empty()) || stop_now()) return;
      if (left(deadline_).count() == 0) return hang_at_timeout();
      std::this_thread::sleep_for(ms(5));
    }
  }

  // The timeout came with workers unsettled: what each is doing, then kill them.
  void hang_at_timeout() {
    actions_.clear();
    for (auto& line : workers_.diagnose_unsettled()) out_.hang.push_back(std::move(line));
    out_.hang.push_back(fmt::format("(the mux, pid {}: {})", target_.pid(),
                                    target_.running() ? proc_state(target_.pid()) : "exited"));
    log_.emit(wire::ev::hang, {{"what", "workers still running at the timeout"}});
    workers_.kill_unsettled();
  }

  // A second client checks the listener; a target the scenario ends must be
  // gone first, and then refuse at once.
  void probe_target() {
    log_.emit(wire::ev::probe_start, {});
    if (s_.expect.target_dies) {
      // The time its shutdown may take.
      auto end = run_clock::now() + target_stop_grace(t_);
      while (target_.running() && !stop_now() && left(end).count() > 0) target_.wait(ms(20));
      out_.target_gone_before_stop = !target_.running();
      log_.emit(wire::ev::target_gone, {{"gone", out_.target_gone_before_stop}});
      probe_result p = run_probe_process(o_.self, paths_.socket, paths_.dir, out_.probe_pid);
      out_.probe_ok = p.ok;
      out_.probe_detail = p.detail;
      out_.probe_errno = p.connect_errno;
    } else if (target_.running()) {
      probe_result p = run_probe_process(o_.self, paths_.socket, paths_.dir, out_.probe_pid);
      out_.probe_ok = p.ok;
      out_.probe_detail = p.detail;
    } else {
      out_.probe_detail =
          fmt::format("probe: the mux is gone ({})", describe_status(*target_.status()));
    }
    log_.emit(wire::ev::probe, {{"ok", out_.probe_ok}, {"detail", out_.probe_detail}});
  }

  // The workers end before the target, as a real run (Ansible) ends its
  // workers before its mux: what the target does at its own shutdown is
  // then about the target, not about clients the harness left connected.
  // (Shutdown with clients connected is a scenario of its own: a signal
  // fault on the mux.)
  void stop_workers() {
    if (!workers_.any_running()) return;
    log_.emit(wire::ev::workers_stop, {{"signal", "SIGTERM"}});
    workers_.terminate(out_.hang, [this] { return stop_now(); });
  }

  // SIGTERM after the workers; a target that does not exit in its grace is a hang.
  void stop_target() {
    stop_workers();
    out_.mux_peak_rss_kib = peak_rss_kib(target_.pid());
    sampler_.stop();  // the report shows the run, not the shutdown
    log_.emit(wire::ev::mux_stop, {{"signal", "SIGTERM"}});
    target_.signal(SIGTERM);
    // A stopped mux cannot act on SIGTERM: waiting for it would only delay the diagnosis.
    const bool stopped = proc_stopped(target_.pid());
    const ms grace = stopped ? ms(0) : target_stop_grace(t_);
    wait_for(
        grace, ms(50), [&](ms step) { return target_.wait(step).has_value(); },
        [&] { return stop_now(); });
    if (target_.running() && !stop_now()) {
      out_.hang.push_back(
          stopped ? fmt::format("the mux (pid {}) is stopped and cannot act on SIGTERM: {}",
                                target_.pid(), proc_state(target_.pid()))
                  : fmt::format("the mux (pid {}) did not exit within {} ms of SIGTERM: {}",
                                target_.pid(), grace.count(), proc_state(target_.pid())));
      kill_and_reap(target_);
    }
    // Any worker left (none, normally) ends when the mux closes its stream.
    workers_.await_exit("the mux exited", out_.hang, [this] { return stop_now(); });
  }

  // Kills and reaps whatever is left; records leftovers for the oracles.
  void finish() {
    sampler_.stop();
    workers_.kill_all();
    kill_and_reap(target_);
    out_.external_target = t_.kind == target_spec::kind_t::external;
    out_.target_name = target_name_;
    if (out_.external_target && !paths_.dir.empty() && target_.pid() > 0 &&
        log_to_events(paths_.dir + "/mux.stderr", paths_.events("mux"), target_.pid(), t_.log,
                      faults::monotonic_seconds()) < 0)
      out_.leftovers.push_back(fmt::format("cannot write {}", paths_.events("mux")));
    if (!paths_.dir.empty()) {
      // Contexts the mux started must have gone with it.
      for (auto& line : reap_contexts(read_events_file(paths_.events("mux"), "mux")))
        out_.leftovers.push_back(std::move(line));
      out_.socket_left = ::access(paths_.socket.c_str(), F_OK) == 0;
    }
    // A child nobody waited for (should be none: every process is reaped above).
    // With --jobs the other scenarios' children are the driver's too, so only
    // a driver running one scenario at a time can look.
    for (int st; o_.jobs == 1;) {
      pid_t pid = ::waitpid(-1, &st, WNOHANG);
      if (pid <= 0) break;
      out_.leftovers.push_back(fmt::format("unreaped child pid {} ({})", pid, describe_status(st)));
    }
    out_.socket_path = paths_.socket;
    if (target_.pid() > 0) out_.processes.push_back({"mux", "", target_.pid(), target_.status()});
    for (const auto& w : workers_.all()) {
      if (w.group->workload == worker_group::workload_t::second_mux)
        out_.stderr_tails[w.proc.pid()] = tail_of(fmt::format("{}/{}.stderr", paths_.dir, w.name));
      out_.processes.push_back({w.name, w.group->name, w.proc.pid(), w.proc.status()});
    }
  }

  scenario_progress* progress_;               // may be null
  std::vector<std::string> target_argv_;      // the target's command, for second-mux groups
  std::vector<std::string> worker_shim_env_;  // LD_PRELOAD and the rules aimed at the workers
  action_queue actions_;                      // faults and delayed groups, by due time
  std::optional<run_clock::time_point> first_spawn_;
  run_clock::time_point last_spawn_{};
  run_clock::time_point deadline_{};
};

}  // namespace

std::string default_shim_path(const std::string& self) {
  return find_install_paths(self).shim;
}

std::string run_dir_base() {
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

scenario_result run_scenario(const scenario& s, std::uint64_t seed, const driver_options& o,
                             scenario_progress* progress) {
  return scenario_run(s, seed, o, progress).go();
}

void stop_on_interrupt() {
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  // SIGTERM (a CI job's timeout, `kill`) and SIGHUP (a closed terminal) as
  // Ctrl-C: by their default action the run would die and leave its mux and
  // workers running with nobody to reap them.
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

bool interrupt_requested() {
  return interrupted.load();
}

}  // namespace faultmux
