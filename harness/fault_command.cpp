#include "harness/fault_command.hpp"

#include <signal.h>
#include <string.h>

#include <cerrno>
#include <charconv>
#include <cstdio>

#include "faults/event_log.hpp"
#include "faults/nofile.hpp"
#include "faults/signal_fault.hpp"
#include "wire/event_names.hpp"

namespace faultmux {
namespace {

std::string err_text(int err) {
  const char* n = ::strerrorname_np(err);
  return std::string(n ? n : "?") + " (" + ::strerror(err) + ")";
}

// Opens --events; false (after saying why) when it cannot.
bool open_events(faults::event_log& log, const std::string& path, const char* cmd) {
  if (int err = log.open(path, "fault"); err != 0) {
    std::fprintf(stderr, "faultmux fault %s: --events %s: cannot open it: %s\n", cmd, path.c_str(),
                 err_text(err).c_str());
    return false;
  }
  return true;
}

std::optional<rlim_t> parse_count(const std::string& s) {
  unsigned long long v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return static_cast<rlim_t>(v);
}

}  // namespace

int run_fault_signal(const fault_signal_options& o) {
  auto sig = faults::parse_signal(o.signal);
  if (!sig) {
    std::fprintf(stderr,
                 "faultmux fault signal: --signal %s: not a signal; use a name such as SIGKILL, "
                 "SIGTERM, SIGSTOP, SIGCONT (with or without SIG) or a number from 1 to %d\n",
                 o.signal.c_str(), NSIG - 1);
    return 2;
  }
  if (o.resume_after_ms && !faults::is_stop_signal(*sig)) {
    std::fprintf(stderr,
                 "faultmux fault signal: --resume-after-ms needs a signal that stops the process "
                 "(SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU), not %s; drop --resume-after-ms or use "
                 "--signal SIGSTOP\n",
                 faults::signal_name(*sig).c_str());
    return 2;
  }
  faults::event_log log;
  if (!open_events(log, o.events, "signal")) return 2;
  // Checked now as well as when the time comes, so a wrong pid is reported
  // at once rather than after the delay.
  if (::kill(o.pid, 0) != 0) {
    int err = errno;
    std::fprintf(stderr, "faultmux fault signal: --pid %d: cannot signal it: %s\n",
                 static_cast<int>(o.pid), err_text(err).c_str());
    return 1;
  }
  faults::timed_signal ts{o.pid, *sig, std::chrono::milliseconds(o.after_ms), std::nullopt};
  if (o.resume_after_ms) ts.resume_after = std::chrono::milliseconds(*o.resume_after_ms);
  int err = faults::run_timed_signal(ts, log);
  if (err != 0) {
    std::fprintf(stderr, "faultmux fault signal: sending %s to PID %d failed: %s\n",
                 faults::signal_name(*sig).c_str(), static_cast<int>(o.pid), err_text(err).c_str());
    return 1;
  }
  std::printf("sent %s to PID %d%s\n", faults::signal_name(*sig).c_str(), static_cast<int>(o.pid),
              o.resume_after_ms ? ", then SIGCONT" : "");
  return 0;
}

namespace {

// --limit as a count; nullopt for `full`. False after saying what is wrong.
bool parse_limit(const std::string& limit, std::optional<rlim_t>* count) {
  if (limit == "full") return true;
  *count = parse_count(limit);
  if (*count) return true;
  std::fprintf(stderr,
               "faultmux fault nofile: --limit %s: not a count; give a number of descriptors "
               "or `full` (the lowest descriptor number the process has free, so its next "
               "accept() or open() fails with EMFILE)\n",
               limit.c_str());
  return false;
}

// --limit full: the lowest descriptor number `pid` has free; nullopt after
// saying why it cannot be read.
std::optional<rlim_t> lowest_free(pid_t pid) {
  int err = 0;
  int free_fd = faults::lowest_free_fd(pid, &err);
  if (free_fd >= 0) return static_cast<rlim_t>(free_fd);
  std::fprintf(stderr,
               "faultmux fault nofile: --pid %d --limit full: cannot list its descriptors in "
               "/proc: %s\n",
               static_cast<int>(pid), err_text(err).c_str());
  return std::nullopt;
}

// After --restore-after-ms, the soft limit back to `soft`: 0, or 1 when it cannot be.
int restore_nofile(const fault_nofile_options& o, rlim_t soft, faults::event_log& log) {
  faults::sleep_for(std::chrono::milliseconds(*o.restore_after_ms));
  if (int err = faults::set_nofile_soft(o.pid, soft); err != 0) {
    std::fprintf(stderr, "faultmux fault nofile: restoring the RLIMIT_NOFILE of PID %d to %s: %s\n",
                 static_cast<int>(o.pid), faults::limit_text(soft).c_str(), err_text(err).c_str());
    return 1;
  }
  log.emit(wire::ev::fault,
           {{"kind", "nofile_restore"}, {"target_pid", o.pid}, {"soft", faults::limit_text(soft)}});
  std::printf("PID %d: RLIMIT_NOFILE soft restored to %s\n", static_cast<int>(o.pid),
              faults::limit_text(soft).c_str());
  return 0;
}

}  // namespace

int run_fault_nofile(const fault_nofile_options& o) {
  std::optional<rlim_t> wanted;
  if (!parse_limit(o.limit, &wanted)) return 2;
  faults::event_log log;
  if (!open_events(log, o.events, "nofile")) return 2;
  int err = 0;
  auto before = faults::get_nofile(o.pid, &err);
  if (!before) {
    std::fprintf(stderr, "faultmux fault nofile: --pid %d: cannot read its RLIMIT_NOFILE: %s\n",
                 static_cast<int>(o.pid), err_text(err).c_str());
    return 1;
  }
  if (!wanted && !(wanted = lowest_free(o.pid))) return 1;
  if (*wanted > before->hard) {
    std::fprintf(stderr,
                 "faultmux fault nofile: --limit %s is above the hard limit %s of PID %d; raising "
                 "the hard limit needs CAP_SYS_RESOURCE: give at most %s\n",
                 o.limit.c_str(), faults::limit_text(before->hard).c_str(), static_cast<int>(o.pid),
                 faults::limit_text(before->hard).c_str());
    return 2;
  }
  if ((err = faults::set_nofile_soft(o.pid, *wanted)) != 0) {
    std::fprintf(stderr, "faultmux fault nofile: setting the RLIMIT_NOFILE of PID %d to %s: %s\n",
                 static_cast<int>(o.pid), faults::limit_text(*wanted).c_str(),
                 err_text(err).c_str());
    return 1;
  }
  log.emit(wire::ev::fault, {{"kind", "nofile"},
                             {"target_pid", o.pid},
                             {"soft", static_cast<std::uint64_t>(*wanted)},
                             {"previous", faults::limit_text(before->soft)}});
  std::printf("PID %d: RLIMIT_NOFILE soft %s -> %s (hard %s)\n", static_cast<int>(o.pid),
              faults::limit_text(before->soft).c_str(), faults::limit_text(*wanted).c_str(),
              faults::limit_text(before->hard).c_str());
  std::fflush(stdout);
  return o.restore_after_ms ? restore_nofile(o, before->soft, log) : 0;
}

int run_fault_run(const fault_run_options& o) {
  auto n = parse_count(o.nofile);
  if (!n || *n < 3) {
    std::fprintf(stderr,
                 "faultmux fault run: --nofile %s: give a descriptor count of at least 3 (stdin, "
                 "stdout and stderr take 0-2)\n",
                 o.nofile.c_str());
    return 2;
  }
  if (o.command.empty()) {
    std::fprintf(stderr,
                 "faultmux fault run: no command: put it after --, e.g. `faultmux fault run "
                 "--nofile 16 -- faultmux mux --listen $TMPDIR/run/s`\n");
    return 2;
  }
  faults::event_log log;
  if (!open_events(log, o.events, "run")) return 2;
  log.emit(wire::ev::fault, {{"kind", "nofile_run"},
                             {"target_pid", static_cast<std::int64_t>(::getpid())},
                             {"soft", static_cast<std::uint64_t>(*n)},
                             {"command", o.command.front()}});
  std::string what;
  int err = faults::exec_with_nofile(*n, o.command, &what);
  std::fprintf(stderr, "faultmux fault run: cannot %s: %s%s\n", what.c_str(), err_text(err).c_str(),
               err == EINVAL && what.rfind("setrlimit", 0) == 0
                   ? ": --nofile is above the hard limit (see `ulimit -Hn`)"
               : err == ENOENT ? ": check the command's path"
                               : "");
  return 2;
}

}  // namespace faultmux
