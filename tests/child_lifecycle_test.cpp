// The lifecycle of a child context seen from its parent's children registry.
// A child that closes its channel but runs on (one that exits on SIGTERM,
// one that ignores it): the parent never waits on it in waitpid, sends
// SIGTERM after a grace and SIGKILL after a second one, each logged, and
// reaps it. A start whose channel socketpair meets EMFILE, whose fork meets
// EAGAIN or whose exec meets ENOENT fails at once and leaks nothing; a child that writes 64 KiB on
// stderr and exits fails its start with the tail of what it wrote. The children are small Python
// programs that say hello as a context would (one frame on fd 3).
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <thread>

#include <fmt/format.h>

#include <fcntl.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <functional>

#include "mux/log.hpp"
#include "tests/support/context_fixture.hpp"
#include "tests/support/process_support.hpp"

namespace faultmux {
namespace {

// A child's first frame on its channel (fd 3), as a context says hello.
constexpr const char* say_hello =
    "a = sys.argv[1:]\n"
    "me = int(a[a.index('--context-id') + 1])\n"
    "parent = int(a[a.index('--parent-ids') + 1].split(',')[0])\n"
    "body = b'hello'\n"
    "os.write(3, struct.pack('>HLLLLLL', 0x4d49, parent, me, me, 4999, 0, len(body)) + body)\n";

std::string lingering_child(const run_dir& dir, bool ignore_sigterm) {
  return write_script(
      dir, ignore_sigterm ? "stubborn" : "lingering",
      std::string("#!/usr/bin/python3\n"
                  "import os, signal, struct, sys, time\n") +
          say_hello + (ignore_sigterm ? "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" : "") +
          "os.close(3)\n"
          "time.sleep(10)\n");
}

// What a child then does, after its hello.
std::string hello_then(const run_dir& dir, const std::string& name, const std::string& rest) {
  return write_script(dir, name,
                      "#!/usr/bin/python3\n"
                      "import fcntl, os, struct, sys, time\n" +
                          std::string(say_hello) + rest);
}

// Sets O_NONBLOCK on this process's fds 0-2 (as a parent started with
// non-blocking stdio has them), and restores them.
class nonblocking_stdio {
 public:
  nonblocking_stdio() {
    for (int fd = 0; fd < 3; ++fd) {
      flags_[fd] = ::fcntl(fd, F_GETFL);
      if (flags_[fd] != -1) ::fcntl(fd, F_SETFL, flags_[fd] | O_NONBLOCK);
    }
  }
  ~nonblocking_stdio() {
    for (int fd = 0; fd < 3; ++fd)
      if (flags_[fd] != -1) ::fcntl(fd, F_SETFL, flags_[fd]);
  }
  nonblocking_stdio(const nonblocking_stdio&) = delete;
  nonblocking_stdio& operator=(const nonblocking_stdio&) = delete;

 private:
  int flags_[3]{};
};

// CPU time this process used, in seconds (every thread: the broker's too).
double cpu_seconds() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

class child_lifecycle : public process_hygiene, public testing::Test {
 protected:
  child_lifecycle() { log::init("test", 0); }

  std::vector<std::string> log_lines(const std::string& what) const {
    std::vector<std::string> out;
    for (const json& e : events_named(dir_.file("test.events"), "log"))
      if (e.value("msg", "").find(what) != std::string::npos) out.push_back(e.value("msg", ""));
    return out;
  }

  // Starts the child, waits until the registry forgot it (reaped); returns
  // its exit status from the child_exit event.
  int run_until_reaped(const std::string& program, ms within) {
    children_config cfg = faultmux_children(dir_);
    cfg.program = program;
    cfg.term_after = 100ms;
    cfg.kill_after = 500ms;
    root_node root(cfg);
    auto s = root.start("lingering");
    EXPECT_TRUE(s.info) << s.error;
    if (!s.info) return -1;
    EXPECT_TRUE(eventually([&] { return root.child_count() == 0; }, within))
        << "the child still runs after its stream closed";
    auto exited = events_named(dir_.file("test.events"), "child_exit");
    return exited.size() == 1 ? exited[0]["status"].get<int>() : -1;
  }
};

TEST_F(child_lifecycle, a_child_that_closes_its_channel_gets_sigterm_after_a_grace) {
  int status = run_until_reaped(lingering_child(dir_, false), 2s);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << status;
  EXPECT_EQ(log_lines("still runs 100 ms after its stream closed: sending SIGTERM").size(), 1u);
  EXPECT_TRUE(log_lines("sending SIGKILL").empty());
}

TEST_F(child_lifecycle, one_that_ignores_sigterm_gets_sigkill_after_a_second_grace) {
  int status = run_until_reaped(lingering_child(dir_, true), 3s);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
  EXPECT_EQ(log_lines("sending SIGTERM").size(), 1u);
  EXPECT_EQ(log_lines("did not exit 500 ms after SIGTERM: sending SIGKILL").size(), 1u);
}

// The lowest free descriptor number of this process.
int lowest_free_fd() {
  for (int fd = 0;; ++fd)
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) return fd;
}

// A start that cannot make its channel (EMFILE at socketpair: one free
// descriptor number left) fails at once with the errno, starting no
// process; a second such start leaks nothing the first did not.
TEST_F(child_lifecycle, emfile_at_the_channel_socketpair_fails_fast_and_leaks_nothing) {
  root_node root(faultmux_children(dir_));
  // A mux's reactor exists before any start (its listener is on it).
  broker& b = root.get().get_broker();
  on_broker(b, [&] { b.after(1ms, [] {}); });
  rlimit old{};
  ::getrlimit(RLIMIT_NOFILE, &old);
  std::vector<int> fds_after;
  for (int round = 0; round < 2; ++round) {
    rlimit low = old;
    low.rlim_cur = static_cast<rlim_t>(lowest_free_fd()) + 1;
    ::setrlimit(RLIMIT_NOFILE, &low);
    double t0 = events::now();
    auto s = root.start("doomed");
    double took = events::now() - t0;
    ::setrlimit(RLIMIT_NOFILE, &old);
    EXPECT_FALSE(s.info);
    EXPECT_NE(s.error.find("cannot start context doomed: socketpair for doomed"), std::string::npos)
        << s.error;
    EXPECT_NE(s.error.find("Too many open files"), std::string::npos) << s.error;
    EXPECT_LT(took, 1.0);
    EXPECT_EQ(root.child_count(), 0u);
    fds_after.push_back(test::open_fd_count(::getpid()));
  }
  EXPECT_EQ(fds_after[1], fds_after[0]);
  EXPECT_TRUE(events_named(dir_.file("test.events"), "child_start").empty());
}

// A start whose exec fails (ENOENT: no such program) fails at once with the
// errno, leaving no process, descriptor or zombie behind; a second start
// leaks nothing the first did not.
TEST_F(child_lifecycle, enoent_at_exec_fails_fast_and_leaks_nothing) {
  children_config cfg = faultmux_children(dir_);
  cfg.program = dir_.file("no-such-program");
  root_node root(cfg);
  std::vector<int> fds_after;
  for (int round = 0; round < 2; ++round) {
    double t0 = events::now();
    auto s = root.start("missing");
    double took = events::now() - t0;
    EXPECT_FALSE(s.info);
    const std::string want =
        "cannot start context missing: exec of " + cfg.program + " for missing: No such file";
    EXPECT_NE(s.error.find(want), std::string::npos) << s.error;
    EXPECT_LT(took, 1.0);
    EXPECT_EQ(root.child_count(), 0u);
    fds_after.push_back(test::open_fd_count(::getpid()));
  }
  EXPECT_EQ(fds_after[1], fds_after[0]);
  // The forked child whose exec failed was reaped by the start itself.
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
}

// Runs `body` in a forked process as a uid of its own (nobody, when this is
// root), so that RLIMIT_NPROC binds it; returns what the body wrote.
std::string as_another_user(const run_dir& dir, const std::function<std::string()>& body) {
  const std::string report = dir.file("as-another-user.txt");
  int fd = ::open(report.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open " + report;
  pid_t pid = ::fork();
  if (pid == 0) {
    std::string out;
    if (::geteuid() == 0) {
      // The contexts it starts write their events into the run dir.
      ::chmod(dir.path().c_str(), 0777);
      ::chmod(dir.file("test.events").c_str(), 0666);
      if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0)
        out = "cannot become nobody";
    }
    if (out.empty()) out = body();
    bool whole = ::write(fd, out.data(), out.size()) == static_cast<ssize_t>(out.size());
    ::_exit(whole ? 0 : 1);
  }
  ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return test::slurp(report) + fmt::format("status={}\n", status);
}

// A start whose fork meets EAGAIN (RLIMIT_NPROC: the user may run no more
// processes) fails at once naming the fork and the errno, leaves no
// descriptor behind, and the next start, once the limit is lifted, works.
TEST_F(child_lifecycle, eagain_at_fork_fails_fast_and_leaks_nothing) {
  std::string report = as_another_user(dir_, [&] {
    std::string out;
    root_node root(faultmux_children(dir_));
    rlimit old{};
    ::getrlimit(RLIMIT_NPROC, &old);
    for (int round = 0; round < 2; ++round) {
      rlimit one{1, old.rlim_max};
      ::setrlimit(RLIMIT_NPROC, &one);
      double t0 = events::now();
      auto s = root.start("forkless");
      double took = events::now() - t0;
      ::setrlimit(RLIMIT_NPROC, &old);
      out += fmt::format("error={}\ntook={}\nchildren={}\nfds={}\n", s.error, took < 1.0,
                         root.child_count(), test::open_fd_count(::getpid()));
    }
    auto after = root.start("after");
    out += after.info ? "after=started\n" : "after=" + after.error + "\n";
    return out;
  });
  SCOPED_TRACE(report);
  EXPECT_EQ(count_of(report,
                     "error=cannot start context forkless: fork for forkless: "
                     "Resource temporarily unavailable\n"),
            2u);
  EXPECT_EQ(count_of(report, "took=true\n"), 2u);
  EXPECT_EQ(count_of(report, "children=0\n"), 2u);
  auto fds = [&](std::size_t from) {
    auto at = report.find("fds=", from);
    return at == std::string::npos ? std::string() : report.substr(at, report.find('\n', at) - at);
  };
  EXPECT_FALSE(fds(0).empty());
  EXPECT_EQ(fds(0), fds(report.find("fds=") + 1));
  EXPECT_NE(report.find("after=started\n"), std::string::npos);
  EXPECT_NE(report.find("status=0\n"), std::string::npos);
}

// 64 KiB of diagnostics on stderr, stdout closed first, exit 50 ms later:
// the start error carries the tail of what it wrote.
TEST_F(child_lifecycle, a_failed_start_carries_the_tail_of_a_long_stderr) {
  children_config cfg = faultmux_children(dir_);
  cfg.program = write_script(dir_, "chatty",
                             "#!/usr/bin/python3\n"
                             "import os, sys, time\n"
                             "os.close(1)\n"
                             "for i in range(1024):\n"
                             "    sys.stderr.write('diagnostic %04d ' % i + 'x' * 47 + '\\n')\n"
                             "sys.stderr.write('the last words\\n')\n"
                             "sys.stderr.flush()\n"
                             "time.sleep(0.05)\n"
                             "sys.exit(4)\n");
  root_node root(cfg);
  auto s = root.start("chatty");
  EXPECT_FALSE(s.info);
  EXPECT_NE(s.error.find("exited with status 4 before it said hello"), std::string::npos)
      << s.error.substr(0, 300);
  EXPECT_NE(s.error.find("diagnostic 1023"), std::string::npos) << s.error.substr(0, 300);
  EXPECT_NE(s.error.find("the last words"), std::string::npos) << s.error.substr(0, 300);
  EXPECT_TRUE(eventually([&] { return root.child_count() == 0; }, 5s));
}

// The lines a child wrote on `stream`, as its parent logged them.
std::vector<std::string> output_of(const run_dir& dir, const std::string& stream) {
  std::vector<std::string> out;
  for (const json& e : events_named(dir.file("test.events"), "child_output"))
    if (e.value("stream", "") == stream) out.push_back(e.value("line", ""));
  return out;
}

// Its stdio is the child's own, blocking, whatever its parent's is: a parent
// started with non-blocking stdio gives its child fresh pipes and /dev/null,
// so a child writing 1 MiB to stdout while its parent's loop is slowed waits
// for room and loses nothing (a Python child would meet BlockingIOError).
TEST_F(child_lifecycle, a_childs_stdio_is_blocking_so_a_slow_parent_loses_none_of_its_output) {
  nonblocking_stdio parent_stdio;
  children_config cfg = faultmux_children(dir_);
  cfg.program =
      hello_then(dir_, "talker",
                 "print('blocking:', *[not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_NONBLOCK\n"
                 "                     for fd in (0, 1, 2)], flush=True)\n"
                 "for i in range(1024):\n"
                 "    sys.stdout.write('line %04d ' % i + 'x' * 1013 + '\\n')\n"
                 "print('done', flush=True)\n"
                 "time.sleep(10)\n");
  root_node root(cfg);
  auto s = root.start("talker");
  ASSERT_TRUE(s.info) << s.error;
  // The parent's loop stalls while the child writes: its 64 KiB pipe fills.
  broker& b = root.get().get_broker();
  b.defer([] { std::this_thread::sleep_for(300ms); });
  ASSERT_TRUE(eventually(
      [&] {
        auto lines = output_of(dir_, "stdout");
        return !lines.empty() && lines.back() == "done";
      },
      10s))
      << "stderr: " << testing::PrintToString(output_of(dir_, "stderr"));
  auto lines = output_of(dir_, "stdout");
  ASSERT_EQ(lines.size(), 1026u);
  EXPECT_EQ(lines.front(), "blocking: True True True");
  for (int i = 0; i < 1024; ++i)
    EXPECT_EQ(lines[static_cast<std::size_t>(i) + 1].substr(0, 10), fmt::format("line {:04} ", i));
}

// A child whose stdout and stderr are closed while it runs on: its parent
// sees each pipe's hang-up (EPOLLHUP without data) once and stops reading
// it, without spinning, and the child's channel is untouched.
TEST_F(child_lifecycle, a_child_that_closes_its_stdout_and_stderr_costs_its_parent_no_cpu) {
  children_config cfg = faultmux_children(dir_);
  cfg.program = hello_then(dir_, "mute",
                           "print('going quiet', flush=True)\n"
                           "os.close(1)\n"
                           "os.close(2)\n"
                           "time.sleep(3)\n");
  root_node root(cfg);
  auto s = root.start("mute");
  ASSERT_TRUE(s.info) << s.error;
  ASSERT_TRUE(eventually([&] { return !output_of(dir_, "stdout").empty(); }, 5s));
  std::this_thread::sleep_for(100ms);  // both hang-ups seen
  const double before = cpu_seconds();
  std::this_thread::sleep_for(500ms);
  EXPECT_LT(cpu_seconds() - before, 0.1) << "the parent spins on a hung-up pipe";
  EXPECT_EQ(output_of(dir_, "stdout"), std::vector<std::string>{"going quiet"});
  EXPECT_EQ(root.child_count(), 1u) << "the child's channel is untouched";
}

// The start error waits for the child's pipes to be read to their end, not
// a fixed time after its exit: last words that come late (here from a
// grandchild that holds its stderr 200 ms longer) are in it.
TEST_F(child_lifecycle, a_failed_start_waits_for_the_end_of_its_output) {
  children_config cfg = faultmux_children(dir_);
  cfg.program = write_script(dir_, "late",
                             "#!/bin/sh\n"
                             "echo 'first words' >&2\n"
                             "(sleep 0.2; echo 'the last words' >&2) &\n"
                             "exit 4\n");
  root_node root(cfg);
  auto s = root.start("late");
  EXPECT_FALSE(s.info);
  EXPECT_NE(s.error.find("exited with status 4 before it said hello"), std::string::npos)
      << s.error;
  EXPECT_NE(s.error.find("first words"), std::string::npos) << s.error;
  EXPECT_NE(s.error.find("the last words"), std::string::npos) << s.error;
}

}  // namespace
}  // namespace faultmux
