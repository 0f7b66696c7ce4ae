// The lifecycle of a child context seen from its parent's children registry.
// A child that closes its channel but runs on (one that exits on SIGTERM,
// one that ignores it): the parent never waits on it in waitpid, sends
// SIGTERM after a grace and SIGKILL after a second one, each logged, and
// reaps it. A start whose channel socketpair meets EMFILE fails at once and
// leaks nothing; a child that writes 64 KiB on stderr and exits fails its
// start with the tail of what it wrote. The children are small Python
// programs that say hello as a context would (one frame on fd 3).
#include <signal.h>
#include <sys/wait.h>

#include <string>

#include <fcntl.h>
#include <sys/resource.h>

#include "mux/log.hpp"
#include "tests/support/context_fixture.hpp"
#include "tests/support/process_support.hpp"

namespace faultmux {
namespace {

std::string lingering_child(const run_dir& dir, bool ignore_sigterm) {
  return write_script(
      dir, ignore_sigterm ? "stubborn" : "lingering",
      std::string("#!/usr/bin/python3\n"
                  "import os, signal, struct, sys, time\n"
                  "a = sys.argv[1:]\n"
                  "me = int(a[a.index('--context-id') + 1])\n"
                  "parent = int(a[a.index('--parent-ids') + 1].split(',')[0])\n") +
          (ignore_sigterm ? "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" : "") +
          "body = b'hello'\n"
          "os.write(3, struct.pack('>HLLLLLL', 0x4d49, parent, me, me, 4999, 0,\n"
          "                        len(body)) + body)\n"
          "os.close(3)\n"
          "time.sleep(10)\n");
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
    low.rlim_cur = static_cast<rlim_t>(lowest_free_fd() + 1);
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

}  // namespace
}  // namespace faultmux
