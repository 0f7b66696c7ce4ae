#include "harness/driver.hpp"

#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "faults/event_log.hpp"
#include "faults/nofile.hpp"
#include "faults/signal_fault.hpp"
#include "harness/external_target.hpp"
#include "roles/process.hpp"
#include "harness/report_timeline.hpp"
#include "harness/resource_sampler.hpp"
#include "roles/roles.hpp"
#include "harness/timeline.hpp"
#include "mux/connect.hpp"
#include "mux/frame.hpp"
#include "wire/hello.hpp"

namespace faultmux {
namespace {

using clock = std::chrono::steady_clock;
using ms = std::chrono::milliseconds;
namespace fs = std::filesystem;

std::atomic<bool> interrupted{false};

void on_sigint(int) {
  interrupted.store(true);
}

ms left(clock::time_point end) {
  return std::max(ms(0), std::chrono::duration_cast<ms>(end - clock::now()));
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// "state S (sleeping), wchan unix_stream_read_generic" from /proc: what a
// process is doing when it should have finished.
std::string proc_state(pid_t pid) {
  std::string stat = slurp(fmt::format("/proc/{}/stat", pid));
  auto paren = stat.rfind(')');
  if (paren == std::string::npos || paren + 2 >= stat.size()) return "gone";
  char state = stat[paren + 2];
  const char* what = state == 'R'   ? "running"
                     : state == 'S' ? "sleeping"
                     : state == 'D' ? "disk sleep"
                     : state == 'T' ? "stopped"
                     : state == 't' ? "traced"
                     : state == 'Z' ? "zombie"
                                    : "?";
  std::string wchan = slurp(fmt::format("/proc/{}/wchan", pid));
  if (wchan.empty() || wchan == "0") wchan = "-";
  return fmt::format("state {} ({}), wchan {}", state, what, wchan);
}

// A socket file bound at `path` with nobody listening (a mux that died
// without removing it): connect gives ECONNREFUSED. 0, or the errno.
int make_stale_socket(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errno;
  int err = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// The last `max` bytes of a file, from a line start when there is one.
std::string tail_of(const std::string& path, std::size_t max = 2000) {
  std::string all = slurp(path);
  if (all.size() <= max) return all;
  std::string t = all.substr(all.size() - max);
  auto nl = t.find('\n');
  return nl == std::string::npos ? t : t.substr(nl + 1);
}

// A message over a raw non-blocking socket, every wait bounded.
bool send_message(int fd, const message& m, clock::time_point end) {
  std::string bytes = encode_frame(m);
  std::string_view rest(bytes);
  while (!rest.empty()) {
    ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    if (n > 0) {
      rest.remove_prefix(static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    pollfd p{fd, POLLOUT, 0};
    if (left(end).count() <= 0 || ::poll(&p, 1, static_cast<int>(left(end).count())) <= 0)
      return false;
  }
  return true;
}

// The first message for `handle`; anything else the mux sends is skipped.
std::optional<message> read_message(int fd, std::uint32_t handle, clock::time_point end,
                                    std::string* why) {
  frame_decoder dec;
  std::vector<message> got;
  for (;;) {
    for (auto& m : got)
      if (m.handle == handle) return std::move(m);
    got.clear();
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left(end).count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      *why = "no reply in time";
      return std::nullopt;
    }
    char buf[4096];
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n <= 0) {
      *why = n == 0 ? std::string("EOF") : fmt::format("recv: {}", strerrorname_np(errno));
      return std::nullopt;
    }
    if (dec.feed(std::string(buf, static_cast<std::size_t>(n)), got) != frame_error::none) {
      *why = dec.error_detail();
      return std::nullopt;
    }
  }
}

// Two probe clients handshake, and a message goes from one to the other's
// echo handle and back through the mux: the listener accepts and the broker
// routes.
bool probe(const std::string& sock, std::string* detail, int* connect_errno = nullptr) {
  auto end = clock::now() + ms(3000);
  try {
    connection a = connect_unix(sock, left(end));
    connection b = connect_unix(sock, left(end));
    message m;
    m.dst_id = b.context_id;
    m.src_id = m.auth_id = a.context_id;
    m.handle = worker_echo_handle;
    m.reply_to = 1001;
    m.data = fmt::format("faultmux probe {}", ::getpid());
    std::string why;
    if (!send_message(a.fd.get(), m, end)) {
      *detail = fmt::format("probe: cannot send to context {}: {}", b.context_id,
                            strerrorname_np(errno) ? strerrorname_np(errno) : "timeout");
      return false;
    }
    auto there = read_message(b.fd.get(), worker_echo_handle, end, &why);
    if (!there || there->data != m.data) {
      *detail = fmt::format("probe: the message from context {} to {} did not arrive: {}",
                            a.context_id, b.context_id, there ? "wrong body" : why);
      return false;
    }
    message reply;
    reply.dst_id = a.context_id;
    reply.src_id = reply.auth_id = b.context_id;
    reply.handle = m.reply_to;
    reply.data = m.data;
    auto back = send_message(b.fd.get(), reply, end)
                    ? read_message(a.fd.get(), m.reply_to, end, &why)
                    : std::nullopt;
    if (!back || back->data != m.data) {
      *detail = fmt::format("probe: the reply from context {} to {} did not arrive: {}",
                            b.context_id, a.context_id, back ? "wrong body" : why);
      return false;
    }
    *detail = fmt::format("probe: contexts {} and {} handshook and a round trip went through",
                          a.context_id, b.context_id);
    // b leaves first, and a stays until the mux has told it so (DEL_ROUTE):
    // closing both at once would have the mux write to a client already
    // gone, an EPIPE it rightly logs as an error.
    b.fd.reset();
    read_message(a.fd.get(), handle::del_route, std::min(end, clock::now() + ms(200)), &why);
    return true;
  } catch (const connect_error& e) {
    *detail = fmt::format("probe: {}", e.what());
    if (connect_errno) *connect_errno = e.error();
    return false;
  }
}

struct worker_proc {
  std::string name;
  const worker_group* group = nullptr;
  int index = 0;  // within its group
  child_process proc;
  std::optional<std::uint32_t> id;
  bool done_reading = false;
  // serve and connect workers stay until the mux goes; the rest end on their own.
  bool long_lived() const {
    return group->workload == worker_group::workload_t::serve ||
           group->workload == worker_group::workload_t::connect;
  }
};

struct timed_action {
  clock::time_point due;
  std::function<void()> act;
};

bool is_serve(const worker_group& g) {
  return g.workload == worker_group::workload_t::serve;
}

// A sanitizer build of faultmux (the driver, and so the mux and workers it
// runs) is several times slower: its scenarios get that much more time.
scenario with_build_slack(scenario s) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  s.timeout_ms *= 4;
#endif
  return s;
}

class scenario_run {
 public:
  scenario_run(const scenario& s, std::uint64_t seed, const driver_options& o,
               scenario_progress* progress)
      : s_(with_build_slack(s)), seed_(seed), o_(o), progress_(progress) {
    if (s.target.kind == target_spec::kind_t::fake_listener) {
      // The hostile listener is what such a scenario is about (the client's
      // side): it stays the target whatever --target says.
      t_ = s.target;
      target_name_ = "fake-listener";
    } else if (o.target == "mitogen") {
      t_ = mitogen_target(s.target);
      target_name_ = "mitogen";
    } else {
      t_ = s.target;
      target_name_ = t_.kind == target_spec::kind_t::external ? "external" : "builtin";
    }
  }

  scenario_result go() {
    scenario_result r;
    r.name = s_.name;
    r.file = s_.file;
    r.origin = s_.origin;
    r.seed = seed_;
    r.target = target_name_;
    r.legacy_bugs = o_.legacy_bugs;
    r.description = s_.description;
    auto started = clock::now();
    // Orphans of the run (a context whose parent context was killed) come to
    // the driver, which reaps them, rather than to an init that may be slow to.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
    make_dir();
    if (setup_error_.empty()) start_and_drive();
    finish();
    r.interrupted = interrupted.load();
    r.start_ms = start_ms_;
    timeline tl = load_timeline(dir_);
    if (!setup_error_.empty()) {
      r.oracles.push_back({"setup", verdict::fail, {setup_error_}});
    } else if (!r.interrupted) {
      r.oracles = judge(s_, tl, out_);
    }
    r.passed = !r.interrupted && !first_failure(r.oracles) && setup_error_.empty();
    if (r.passed) r.unserved = unserved_call_groups(s_, out_);
    r.error = r.interrupted || !setup_error_.empty();
    r.faults = faults_of(tl);
    r.workers_total = static_cast<int>(workers_.size());
    describe_for_report(tl, r);
    r.seconds = std::chrono::duration<double>(clock::now() - started).count();
    if (!dir_.empty()) {
      if (!r.passed && o_.verbosity > 0) {
        r.kept_dir = dir_;
      } else {
        std::error_code ec;
        fs::remove_all(dir_, ec);
      }
    }
    return r;
  }

 private:
  void make_dir() {
    const char* tmp = std::getenv("TMPDIR");
    std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/faultmux-run-XXXXXX";
    if (!::mkdtemp(tmpl.data())) {
      setup_error_ = fmt::format("cannot make a run directory {}: {}", tmpl, std::strerror(errno));
      return;
    }
    dir_ = tmpl;
    sock_ = dir_ + "/mux.sock";
    if (int err = log_.open(dir_ + "/driver.events", "driver"))
      setup_error_ = fmt::format("cannot open {}/driver.events: {}", dir_, std::strerror(err));
  }

  bool stop_now() const { return interrupted.load(); }

  // The report's rows, latencies, fault windows and resource samples.
  void describe_for_report(const timeline& tl, scenario_result& r) const {
    if (tl.empty() || mux_.pid() <= 0) return;
    traced_process mux{"mux", "", 0, mux_.pid(), false, mux_.exited_at(), mux_.status()};
    std::vector<traced_process> ws;  // by group, then index (each group spawns in order)
    for (const auto& g : s_.workers)
      for (const auto& w : workers_)
        if (w.group == &g)
          ws.push_back({w.name, g.name, w.index, w.proc.pid(), w.long_lived(), w.proc.exited_at(),
                        w.proc.status()});
    r.timeline = timeline_rows(tl, mux, ws, s_.workers);
    r.windows = windows_of(tl, mux, ws, r.timeline->duration_s);
    r.latency = latency_of(tl);
    r.resources = resources_of(mux_.pid(), sampler_.interval_ms(), baseline_fds_,
                               sampler_.samples(), tl.front().t);
  }

  void start_and_drive() {
    if (!start_mux()) return;
    deadline_ = clock::now() + ms(s_.timeout_ms);
    for (std::size_t i = 0; i < s_.faults.size(); ++i)
      if (s_.faults[i].kind == fault_spec::kind_t::signal && s_.faults[i].before_workers)
        schedule_signal(i, clock::now());
    run_due();
    start_workers();
    if (stop_now()) return;
    auto workers_started = clock::now();
    for (std::size_t i = 0; i < s_.faults.size(); ++i) {
      const fault_spec& f = s_.faults[i];
      if (f.kind == fault_spec::kind_t::signal && !f.before_workers)
        schedule_signal(i, workers_started + ms(f.at_ms));
      if (f.kind == fault_spec::kind_t::nofile) schedule_nofile(i, workers_started + ms(f.at_ms));
    }
    wait_for_workers();
    if (stop_now()) return;
    out_.probe_pid = ::getpid();
    log_.emit("probe_start", {});
    if (s_.expect.target_dies) {
      // The scenario ends the target: give it the time its shutdown may
      // take, then a client must be refused at once.
      auto end = clock::now() + ms(t_.shutdown_grace_ms + 3000);
      while (mux_.running() && !stop_now() && left(end).count() > 0) mux_.wait(ms(20));
      out_.target_gone_before_stop = !mux_.running();
      log_.emit("target_gone", {{"gone", out_.target_gone_before_stop}});
      out_.probe_ok = probe(sock_, &out_.probe_detail, &out_.probe_errno);
    } else if (mux_.running()) {
      out_.probe_ok = probe(sock_, &out_.probe_detail);
    } else {
      out_.probe_detail =
          fmt::format("probe: the mux is gone ({})", describe_status(*mux_.status()));
    }
    log_.emit("probe", {{"ok", out_.probe_ok}, {"detail", out_.probe_detail}});
    stop_mux();
  }

  bool start_mux() {
    std::vector<std::string> argv;
    std::vector<std::string> rules;
    for (const auto& f : s_.faults)
      if (f.kind == fault_spec::kind_t::syscall) rules.push_back(f.rule);
    if (!rules.empty()) {
      std::string shim = o_.shim.empty() ? default_shim_path(o_.self) : o_.shim;
      if (::access(shim.c_str(), R_OK) != 0) {
        setup_error_ =
            fmt::format("the syscall shim {} cannot be read: {}", shim, std::strerror(errno));
        return false;
      }
      std::string joined;
      for (const auto& r : rules) joined += (joined.empty() ? "" : ";") + r;
      // In ASan builds the shim comes before the ASan runtime; ASan must be told.
      const char* asan = std::getenv("ASAN_OPTIONS");
      std::string asan_options = std::string(asan && *asan ? asan : "") +
                                 (asan && *asan ? ":" : "") + "verify_asan_link_order=0";
      argv = {"/usr/bin/env",
              "ASAN_OPTIONS=" + asan_options,
              "LD_PRELOAD=" + shim,
              "FAULTMUX_FAULTS=" + joined,
              "FAULTMUX_SEED=" + std::to_string(seed_),
              "FAULTMUX_FAULT_LOG=" + dir_ + "/faults.log",
              "FAULTMUX_ROLE=mux",
              "FAULTMUX_INDEX=0"};
    }
    const target_spec& t = t_;
    if (t.stale_socket) {
      // What a mux killed before it could clean up leaves behind.
      int err = make_stale_socket(sock_);
      log_.emit("stale_socket", {{"path", sock_}, {"errno", err ? strerrorname_np(err) : ""}});
      if (err) {
        setup_error_ =
            fmt::format("cannot leave a stale socket file at {}: {}", sock_, std::strerror(err));
        return false;
      }
    }
    int backlog = t.backlog > 0 ? t.backlog : std::max(1, s_.worker_count());
    std::vector<std::string> mux{o_.self,
                                 "mux",
                                 "--listen",
                                 sock_,
                                 "--backlog",
                                 std::to_string(backlog),
                                 "--events",
                                 dir_ + "/mux.events",
                                 "--max-message-size",
                                 std::to_string(t.max_message_size),
                                 "--output-cap",
                                 std::to_string(t.output_cap),
                                 "--handshake-timeout-ms",
                                 std::to_string(t.handshake_timeout_ms),
                                 "--shutdown-grace-ms",
                                 std::to_string(t.shutdown_grace_ms)};
    if (t.unidirectional) mux.push_back("--unidirectional");
    for (const auto& bug : o_.legacy_bugs) mux.insert(mux.end(), {"--legacy-bug", bug});
    for (const auto& f : s_.faults)
      if (f.kind == fault_spec::kind_t::context)
        mux.insert(mux.end(), {"--context-fault-at",
                               f.context + "=" + f.fault_at + (f.signal_parent ? "@parent" : "")});
    // An external target writes no events: its stderr becomes them in finish().
    if (t.kind == target_spec::kind_t::external) mux = external_argv(t, sock_, backlog);
    if (t.kind == target_spec::kind_t::fake_listener)
      mux = {o_.self,    "fake-listener",     "--listen",
             sock_,      "--answer-bytes",    fmt::format("{}", fmt::join(t.answer_bytes, ",")),
             "--events", dir_ + "/mux.events"};
    target_argv_ = mux;
    argv.insert(argv.end(), mux.begin(), mux.end());
    // Before the spawn: its first events may come before spawn() returns.
    log_.emit("spawn", {{"name", "mux"}});
    try {
      mux_ = child_process::spawn(argv, true, dir_ + "/mux.stderr");
    } catch (const std::exception& e) {
      setup_error_ = fmt::format("cannot start the mux: {}", e.what());
      return false;
    }
    auto end = clock::now() + ms(10000);
    while (!stop_now()) {
      auto line = mux_.read_line(std::min(left(end), ms(100)));
      if (line && *line == "listening " + sock_) {
        // Its fds before any client, then every 50 ms on the sampler's own
        // thread: the loops here keep their timing.
        if (auto p = sample_process(mux_.pid())) baseline_fds_ = p->fds;
        sampler_.start(mux_.pid());
        return true;
      }
      if ((!line && left(end).count() == 0) || mux_.wait(ms(0))) break;
    }
    if (stop_now()) return false;
    std::string err = slurp(dir_ + "/mux.stderr");
    if (err.size() > 600) err = "..." + err.substr(err.size() - 600);
    setup_error_ =
        fmt::format("the mux did not listen on {} within 10 s ({}); stderr: {}", sock_,
                    mux_.status() ? describe_status(*mux_.status()) : "still running", err);
    return false;
  }

  std::vector<std::string> worker_argv(const worker_group& g, int index) {
    if (g.workload == worker_group::workload_t::second_mux) {
      // The target's own command again, on the same path, which is live.
      std::vector<std::string> a = target_argv_;
      for (std::size_t i = 0; i + 1 < a.size(); ++i)
        if (a[i] == "--events")
          a[i + 1] = fmt::format("{}/worker-{}-{}.events", dir_, g.name, index);
      return a;
    }
    std::string path = sock_;
    if (g.path == "missing") path = dir_ + "/missing.sock";
    if (g.path == "stale") path = dir_ + "/stale.sock";
    std::vector<std::string> a{
        o_.self,
        "worker",
        "--connect",
        path,
        "--events",
        fmt::format("{}/worker-{}-{}.events", dir_, g.name, index),
        "--connect-timeout-ms",
        std::to_string(g.connect_timeout_ms > 0 ? g.connect_timeout_ms
                                                : std::min(10000, s_.timeout_ms))};
    if (g.backlog_wait_ms >= 0)
      a.insert(a.end(), {"--backlog-wait-ms", std::to_string(g.backlog_wait_ms)});
    auto peer_id = [&]() -> std::optional<std::uint32_t> {
      if (serve_ids_.empty()) return std::nullopt;
      return serve_ids_[static_cast<std::size_t>(index) % serve_ids_.size()];
    };
    auto add = [&](std::initializer_list<std::string> more) { a.insert(a.end(), more); };
    using wl = worker_group::workload_t;
    switch (g.workload) {
      case wl::connect:
      case wl::serve:
      case wl::second_mux:
        break;
      case wl::echo: {
        // The peer group's ids: serve_ids_ holds every serve worker's id by group.
        auto ids = ids_of(g.peer);
        std::uint32_t peer = ids.empty() ? 0 : ids[static_cast<std::size_t>(index) % ids.size()];
        add({"--peer", std::to_string(peer), "--count", std::to_string(g.messages), "--size",
             std::to_string(g.size), "--in-flight", std::to_string(g.in_flight),
             "--reply-timeout-ms", std::to_string(std::clamp(s_.timeout_ms / 2, 1000, 30000))});
        break;
      }
      case wl::calls:
        add({"--context", g.context, "--function", g.function, "--count",
             std::to_string(g.messages), "--size", std::to_string(g.size), "--in-flight",
             std::to_string(g.in_flight), "--reply-timeout-ms",
             std::to_string(std::clamp(s_.timeout_ms / 2, 1000, 30000))});
        if (!g.relay_to.empty()) add({"--relay-to", g.relay_to});
        break;
      case wl::hostile:
        add({"--behave", g.behave, "--hold-ms", std::to_string(std::min(5000, s_.timeout_ms / 3)),
             "--max-message-size", std::to_string(s_.target.max_message_size), "--seed",
             std::to_string(seed_ + static_cast<std::uint64_t>(index))});
        if (g.messages > 0) add({"--count", std::to_string(g.messages)});
        // short-pid: worker i sends i % 4 pid bytes, so a group covers 0 to 3.
        if (g.behave == "short-pid") add({"--pid-bytes", std::to_string(index % 4)});
        if (auto id = peer_id()) add({"--target", std::to_string(*id)});
        break;
    }
    if (!g.fault_at.empty() && g.workload != wl::hostile) add({"--fault-at", g.fault_at});
    return a;
  }

  std::vector<std::uint32_t> ids_of(const std::string& group) const {
    std::vector<std::uint32_t> ids;
    for (const auto& w : workers_)
      if (w.group->name == group && w.id) ids.push_back(*w.id);
    return ids;
  }

  void spawn_group(const worker_group& g) {
    if (g.workload == worker_group::workload_t::echo && ids_of(g.peer).empty()) {
      // Against an external target this is what the target did to the peer
      // group (its workers' failures are judged), not a broken scenario.
      if (t_.kind == target_spec::kind_t::external) {
        log_.emit("group_not_started",
                  {{"group", g.name}, {"why", "no worker of its peer group said its context id"}});
        return;
      }
      setup_error_ =
          fmt::format("group {} not started: no worker of its peer group {} said its context id",
                      g.name, g.peer);
      return;
    }
    for (int i = 0; i < g.count && !stop_now(); ++i) {
      worker_proc w;
      w.name = fmt::format("worker-{}-{}", g.name, i);
      w.group = &g;
      w.index = i;
      log_.emit("spawn", {{"name", w.name}, {"group", g.name}, {"index", i}});
      try {
        w.proc = child_process::spawn(worker_argv(g, i), true,
                                      fmt::format("{}/worker-{}-{}.stderr", dir_, g.name, i));
      } catch (const std::exception& e) {
        setup_error_ = fmt::format("cannot start {}: {}", w.name, e.what());
        return;
      }
      first_spawn_ = first_spawn_.value_or(clock::now());
      last_spawn_ = clock::now();
      workers_.push_back(std::move(w));
      if (progress_) progress_->workers_started.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void start_workers() {
    using wl = worker_group::workload_t;
    if (std::any_of(s_.workers.begin(), s_.workers.end(),
                    [](const worker_group& g) { return g.path == "stale"; })) {
      int err = make_stale_socket(dir_ + "/stale.sock");
      log_.emit("stale_socket",
                {{"path", dir_ + "/stale.sock"}, {"errno", err ? strerrorname_np(err) : ""}});
      if (err) {
        setup_error_ = fmt::format("cannot leave a stale socket file at {}/stale.sock: {}", dir_,
                                   std::strerror(err));
        return;
      }
    }
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
    for (const worker_group* g : now) {
      if (g->start_after_ms > 0 && !is_serve(*g)) {
        actions_.push_back({clock::now() + ms(g->start_after_ms), [this, g] { spawn_group(*g); }});
        continue;
      }
      spawn_group(*g);
    }
    read_serve_ids();
    for (const worker_group* g : later) {
      if (g->start_after_ms > 0) {
        actions_.push_back({clock::now() + ms(g->start_after_ms), [this, g] { spawn_group(*g); }});
        continue;
      }
      spawn_group(*g);
    }
    if (first_spawn_)
      start_ms_ = std::chrono::duration<double, std::milli>(last_spawn_ - *first_spawn_).count();
    log_.emit("workers_started", {{"workers", workers_.size()}, {"ms", start_ms_}});
  }

  void read_serve_ids() {
    for (;;) {
      run_due();
      bool waiting = false;
      for (auto& w : workers_) {
        if (!is_serve(*w.group) || w.id || w.done_reading) continue;
        auto line = w.proc.read_line(ms(3));
        if (auto h = line ? wire::parse_hello(*line) : std::nullopt) {
          w.id = h->context_id;
          serve_ids_.push_back(h->context_id);
          continue;
        }
        if (!line && w.proc.wait(ms(0))) {
          w.done_reading = true;
          continue;
        }
        waiting = true;
      }
      if (!waiting || stop_now() || left(deadline_).count() == 0) return;
    }
  }

  void emit_fault(const char* kind, std::size_t index, pid_t pid, const std::string& what,
                  int err) {
    log_.emit("fault", {{"kind", kind},
                        {"fault", index},
                        {"target_pid", pid},
                        {"what", what},
                        {"errno", err ? strerrorname_np(err) : ""}});
  }

  std::vector<pid_t> targets(const std::string& process) const {
    if (process == "mux") return {mux_.pid()};
    std::vector<pid_t> out;
    for (const auto& w : workers_)
      if (w.group->name == process && w.proc.running()) out.push_back(w.proc.pid());
    return out;
  }

  void schedule_signal(std::size_t index, clock::time_point at) {
    const fault_spec& f = s_.faults[index];
    actions_.push_back({at, [this, index, &f] {
                          int sig = faults::parse_signal(f.signal).value_or(SIGTERM);
                          for (pid_t pid : targets(f.process)) {
                            int err = ::kill(pid, sig) == 0 ? 0 : errno;
                            emit_fault("signal", index, pid, f.signal, err);
                          }
                          if (sig == SIGSTOP && f.resume_after_ms >= 0)
                            actions_.push_back(
                                {clock::now() + ms(f.resume_after_ms), [this, index, &f] {
                                   for (pid_t pid : targets(f.process)) {
                                     int err = ::kill(pid, SIGCONT) == 0 ? 0 : errno;
                                     emit_fault("resume", index, pid, "SIGCONT", err);
                                   }
                                 }});
                        }});
  }

  void schedule_nofile(std::size_t index, clock::time_point at) {
    const fault_spec& f = s_.faults[index];
    actions_.push_back(
        {at, [this, index, &f] {
           faults::nofile_limits before{};
           int err = faults::set_nofile_soft(mux_.pid(), static_cast<rlim_t>(f.limit), &before);
           emit_fault(
               "nofile", index, mux_.pid(),
               fmt::format("RLIMIT_NOFILE soft {} -> {}", faults::limit_text(before.soft), f.limit),
               err);
           if (err == 0 && f.restore_after_ms >= 0)
             actions_.push_back({clock::now() + ms(f.restore_after_ms), [this, index, before] {
                                   int e = faults::set_nofile_soft(mux_.pid(), before.soft);
                                   emit_fault("restore", index, mux_.pid(),
                                              fmt::format("RLIMIT_NOFILE soft restored to {}",
                                                          faults::limit_text(before.soft)),
                                              e);
                                 }});
         }});
  }

  // Runs the actions that are due; an action may add more.
  void run_due() {
    for (bool again = true; again;) {
      again = false;
      for (std::size_t i = 0; i < actions_.size(); ++i) {
        if (actions_[i].due > clock::now()) continue;
        auto act = std::move(actions_[i].act);
        actions_.erase(actions_.begin() + static_cast<long>(i));
        act();
        again = true;
        break;
      }
    }
  }

  // Short-lived workers must end; serve and connect workers must have
  // connected (said their context id) or ended.
  bool settled(worker_proc& w) {
    if (!w.long_lived()) return w.proc.wait(ms(0)).has_value();
    if (w.id || w.done_reading) return true;
    auto line = w.proc.read_line(ms(3));
    if (auto h = line ? wire::parse_hello(*line) : std::nullopt) {
      w.id = h->context_id;
      return true;
    }
    if (!line && w.proc.wait(ms(0))) w.done_reading = true;
    return w.done_reading;
  }

  void wait_for_workers() {
    for (;;) {
      run_due();
      bool running = false;
      for (auto& w : workers_)
        if (!settled(w)) running = true;
      if ((!running && actions_.empty()) || stop_now()) return;
      if (left(deadline_).count() == 0) {
        actions_.clear();
        std::vector<std::string> diagnosis;
        for (auto& w : workers_)
          if (!settled(w))
            diagnosis.push_back(
                fmt::format("{} (pid {}): {}", w.name, w.proc.pid(), proc_state(w.proc.pid())));
        diagnosis.push_back(fmt::format("(the mux, pid {}: {})", mux_.pid(),
                                        mux_.running() ? proc_state(mux_.pid()) : "exited"));
        out_.hang.insert(out_.hang.end(), diagnosis.begin(), diagnosis.end());
        log_.emit("hang", {{"what", "workers still running at the timeout"}});
        for (auto& w : workers_)
          if (!settled(w)) kill_and_reap(w.proc);
        return;
      }
      std::this_thread::sleep_for(ms(5));
    }
  }

  static void kill_and_reap(child_process& p) {
    if (!p.running()) return;
    p.signal(SIGKILL);
    p.wait(ms(5000));
  }

  // The workers end before the target, as a real run (Ansible) ends its
  // workers before its mux: what the target does at its own shutdown is
  // then about the target, not about clients the harness left connected.
  // (Shutdown with clients connected is a scenario of its own: a signal
  // fault on the mux, SCENARIOS #21.)
  void stop_workers() {
    bool any = false;
    for (auto& w : workers_)
      if (w.proc.running() && !w.proc.wait(ms(0))) any = true;
    if (!any) return;
    log_.emit("workers_stop", {{"signal", "SIGTERM"}});
    for (auto& w : workers_)
      if (w.proc.running()) w.proc.signal(SIGTERM);
    await_workers("SIGTERM");
  }

  // Gives every worker 3 s to exit; one still running is a hang, and is killed.
  void await_workers(const char* after) {
    for (auto end = clock::now() + ms(3000); !stop_now() && left(end).count() > 0;) {
      bool running = false;
      for (auto& w : workers_)
        if (!w.proc.wait(ms(0))) running = true;
      if (!running) break;
      std::this_thread::sleep_for(ms(5));
    }
    for (auto& w : workers_)
      if (w.proc.running() && !stop_now()) {
        out_.hang.push_back(fmt::format("{} (pid {}) still running 3 s after {}: {}", w.name,
                                        w.proc.pid(), after, proc_state(w.proc.pid())));
        kill_and_reap(w.proc);
      }
  }

  void stop_mux() {
    stop_workers();
    std::string status = slurp(fmt::format("/proc/{}/status", mux_.pid()));
    auto at = status.find("VmHWM:");
    if (at != std::string::npos) out_.mux_peak_rss_kib = std::atol(status.c_str() + at + 6);
    sampler_.stop();  // the report shows the run, not the shutdown
    log_.emit("mux_stop", {{"signal", "SIGTERM"}});
    mux_.signal(SIGTERM);
    // A stopped mux cannot act on SIGTERM: waiting for it would only delay the diagnosis.
    const bool stopped = proc_state(mux_.pid()).rfind("state T", 0) == 0;
    int grace = stopped ? 0 : s_.target.shutdown_grace_ms + 3000;
    for (auto end = clock::now() + ms(grace); !stop_now() && left(end).count() > 0;)
      if (mux_.wait(ms(50))) break;
    if (mux_.running() && !stop_now()) {
      out_.hang.push_back(
          stopped ? fmt::format("the mux (pid {}) is stopped and cannot act on SIGTERM: {}",
                                mux_.pid(), proc_state(mux_.pid()))
                  : fmt::format("the mux (pid {}) did not exit within {} ms of SIGTERM: {}",
                                mux_.pid(), grace, proc_state(mux_.pid())));
      kill_and_reap(mux_);
    }
    // Any worker left (none, normally) ends when the mux closes its stream.
    await_workers("the mux exited");
  }

  // Kills and reaps whatever is left; records leftovers for the oracles.
  void finish() {
    sampler_.stop();
    for (auto& w : workers_) kill_and_reap(w.proc);
    kill_and_reap(mux_);
    out_.external_target = t_.kind == target_spec::kind_t::external;
    out_.target_name = target_name_;
    if (out_.external_target && !dir_.empty() && mux_.pid() > 0 &&
        log_to_events(dir_ + "/mux.stderr", dir_ + "/mux.events", mux_.pid(), t_.log,
                      faults::monotonic_seconds()) < 0)
      out_.leftovers.push_back(fmt::format("cannot write {}/mux.events", dir_));
    if (!dir_.empty()) {
      // Contexts the mux started must have gone with it.
      for (const auto& e : read_events_file(dir_ + "/mux.events", "mux")) {
        if (e.event() != "child_start") continue;
        pid_t pid = static_cast<pid_t>(e.num("child_pid"));
        if (pid <= 0 || ::kill(pid, 0) != 0) continue;
        // A context whose parent context was killed exits on its own; the
        // driver, the run's subreaper, is its parent now and reaps it.
        bool reaped = false;
        for (int i = 0; i < 100 && !reaped; ++i) {
          reaped = ::waitpid(pid, nullptr, WNOHANG) == pid;
          if (!reaped) std::this_thread::sleep_for(ms(10));
        }
        if (reaped) continue;
        out_.leftovers.push_back(
            fmt::format("context {} (pid {}): {}", e.str("child"), pid, proc_state(pid)));
        ::kill(pid, SIGKILL);
      }
      out_.socket_left = ::access(sock_.c_str(), F_OK) == 0;
    }
    // A child nobody waited for (should be none: every process is reaped above).
    // With --jobs the other scenarios' children are the driver's too, so only
    // a driver running one scenario at a time can look.
    for (int st; o_.jobs == 1;) {
      pid_t pid = ::waitpid(-1, &st, WNOHANG);
      if (pid <= 0) break;
      out_.leftovers.push_back(fmt::format("unreaped child pid {} ({})", pid, describe_status(st)));
    }
    out_.socket_path = sock_;
    if (mux_.pid() > 0) out_.processes.push_back({"mux", "", mux_.pid(), mux_.status()});
    for (const auto& w : workers_) {
      if (w.group->workload == worker_group::workload_t::second_mux)
        out_.stderr_tails[w.proc.pid()] = tail_of(fmt::format("{}/{}.stderr", dir_, w.name));
      out_.processes.push_back({w.name, w.group->name, w.proc.pid(), w.proc.status()});
    }
  }

  const scenario s_;  // a copy: its timeout is scaled in sanitizer builds
  std::uint64_t seed_;
  const driver_options& o_;
  scenario_progress* progress_;  // may be null
  target_spec t_;                // the scenario's, or Mitogen's for --target mitogen
  std::string target_name_;      // for the report: builtin, mitogen, external
  std::string dir_, sock_, setup_error_;
  std::vector<std::string> target_argv_;  // the target's command, for second-mux groups
  faults::event_log log_;
  child_process mux_;
  std::deque<worker_proc> workers_;
  std::vector<std::uint32_t> serve_ids_;
  std::vector<timed_action> actions_;
  std::optional<clock::time_point> first_spawn_;
  clock::time_point last_spawn_{};
  clock::time_point deadline_{};
  double start_ms_ = 0;
  run_outcome out_;
  resource_sampler sampler_;
  std::optional<long long> baseline_fds_;
};

}  // namespace

std::string default_shim_path(const std::string& self) {
#ifdef FAULTMUX_SHIM_PATH
  if (::access(FAULTMUX_SHIM_PATH, R_OK) == 0) return FAULTMUX_SHIM_PATH;
#endif
  return (fs::path(self).parent_path() / "libfaultmux_shim.so").string();
}

std::vector<std::string> scenario_files(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      std::vector<std::string> found;
      for (const auto& e : fs::directory_iterator(p, ec))
        if (e.path().extension() == ".toml") found.push_back(e.path().string());
      std::sort(found.begin(), found.end());
      out.insert(out.end(), found.begin(), found.end());
    } else if (fs::exists(p, ec)) {
      out.push_back(p);
    } else {
      throw scenario_error(fmt::format("{}: no such scenario file or directory", p));
    }
  }
  return out;
}

std::vector<reports::fault_entry> faults_of(const timeline& tl) {
  std::vector<reports::fault_entry> out;
  const double t0 = tl.empty() ? 0.0 : tl.front().t;
  for (const auto& e : tl) {
    if (e.event() != "fault") continue;
    reports::fault_entry f;
    f.at_s = e.t - t0;
    f.source = e.source;
    f.pid = e.pid();
    if (e.source == "faults") {
      // The shim's log line: the call, its fd and the rule that fired.
      f.kind = "syscall";
      f.what = fmt::format("{} on {} fd {} (rule {} '{}', call {}) -> {}", e.str("call"),
                           e.str("fd_class"), e.num("fd"), e.num("rule"), e.str("rule_text"),
                           e.num("n"), e.str("effect"));
      f.rule = fmt::format("rule {} '{}'", e.num("rule"), e.str("rule_text"));
    } else if (e.str("kind") == "phase") {
      f.kind = "phase";
      f.what = fmt::format("{} at phase {}", e.str("action"), e.str("spec"));
      if (e.str("victim") == "parent")
        f.what += fmt::format(", to its parent (pid {})", e.num("target_pid"));
    } else {
      // The driver's timed signals and RLIMIT_NOFILE changes.
      f.kind = e.str("kind");
      std::string err = e.str("errno");
      f.what = fmt::format("{} (pid {}){}", e.str("what"), e.num("target_pid"),
                           err.empty() ? "" : ": " + err);
    }
    out.push_back(std::move(f));
  }
  return out;
}

std::string faultmux_command() {
  std::error_code ec;
  return std::filesystem::is_regular_file("faultmux", ec) ? "./faultmux" : "faultmux";
}

// The scenario file relative to the working directory when it lies inside
// it: a line from a CI report then works when pasted into any checkout.
std::string rerun_command(const scenario_result& r) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path cwd = fs::current_path(ec);
  fs::path file = r.file;
  if (!ec && file.is_absolute()) {
    fs::path inside = file.lexically_relative(cwd);
    if (!inside.empty() && *inside.begin() != "..") file = inside;
  }
  std::string out = fmt::format("{} run {} --seed {}", faultmux_command(), file.string(), r.seed);
  for (const auto& bug : r.legacy_bugs) out += " --legacy-bug " + bug;
  if (r.target == "mitogen") out += " --target mitogen";
  return out;
}

reports::scenario_entry report_entry(const scenario_result& r) {
  reports::scenario_entry e;
  e.file = r.file;
  e.name = r.name;
  e.origin = r.origin;
  e.target = r.target;
  e.verdict = run_verdict(r.error, r.oracles, !r.unserved.empty());
  e.seed = r.seed;
  e.duration_s = r.seconds;
  for (const auto& o : r.oracles) e.oracles.push_back({o.name, o.v, o.evidence});
  e.faults = r.faults;
  e.rerun = rerun_command(r);
  e.repeat = r.repeat;
  e.legacy_bugs = r.legacy_bugs;
  e.description = r.description;
  e.workers_total = r.workers_total;
  e.spawn_ms = r.start_ms;
  e.timeline = r.timeline;
  e.latency = r.latency;
  e.resources = r.resources;
  e.windows = r.windows;
  return e;
}

scenario_result run_scenario(const scenario& s, std::uint64_t seed, const driver_options& o,
                             scenario_progress* progress) {
  return scenario_run(s, seed, o, progress).go();
}

void stop_on_sigint() {
  struct sigaction sa {};
  sa.sa_handler = on_sigint;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
}

bool interrupt_requested() {
  return interrupted.load();
}

}  // namespace faultmux
