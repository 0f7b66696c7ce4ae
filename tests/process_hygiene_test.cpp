// Process hygiene: a faultmux process started with stdio closed holds fds
// 0-2 on /dev/null before anything else opens a descriptor (no socket, epoll
// or event file lands on stdio), and a context gets only its channel and
// stdio from its parent: nothing else the parent holds, not even a
// descriptor without FD_CLOEXEC. A start while another thread holds the
// console's lock and many threads are parked, with output buffered, is as
// clean: nothing of the parent's state reaches the child.
#include <fcntl.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/details/console_globals.h>

#include "tests/support/context_fixture.hpp"
#include "tests/support/process_support.hpp"

namespace faultmux {
namespace {

std::string link_of(pid_t pid, int fd) {
  char buf[512] = {};
  std::string p = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(p.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

std::vector<std::pair<int, std::string>> fds_of(pid_t pid) {
  std::vector<std::pair<int, std::string>> out;
  for (int fd = 0; fd < 1024; ++fd)
    if (auto l = link_of(pid, fd); !l.empty()) out.emplace_back(fd, l);
  return out;
}

class hygiene : public process_hygiene, public testing::Test {};

TEST_F(hygiene, a_mux_started_without_stdio_holds_0_to_2_on_dev_null) {
  std::string sock = dir_.file("mux.sock");
  child_process mux = child_process::spawn(
      {"/bin/sh", "-c", "exec \"$0\" mux --events \"$1\" --listen \"$2\" <&- >&- 2>&-",
       test::binary(), dir_.file("mux.events"), sock});
  ASSERT_TRUE(eventually([&] { return ::access(sock.c_str(), F_OK) == 0; }, 10s));
  for (int fd = 0; fd <= 2; ++fd) EXPECT_EQ(link_of(mux.pid(), fd), "/dev/null") << "fd " << fd;
  // The mux still works: it logs (to the /dev/null stderr) and ends cleanly.
  mux.signal(SIGTERM);
  auto status = mux.wait(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << *status;
}

TEST_F(hygiene, a_context_holds_only_its_channel_and_stdio_of_its_parent) {
  // Held by the parent without FD_CLOEXEC: a child must still not get it.
  int leak[2];
  ASSERT_EQ(::pipe(leak), 0);
  std::string leaked = link_of(::getpid(), leak[0]);
  {
    root_node root(faultmux_children(dir_));
    auto s = root.start("clean");
    ASSERT_TRUE(s.info) << s.error;
    int sockets = 0;
    for (const auto& [fd, l] : fds_of(s.info->pid)) {
      EXPECT_NE(l, leaked) << "fd " << fd << " of the context is the parent's pipe";
      if (l.starts_with("socket:")) {
        ++sockets;
        EXPECT_EQ(fd, 3) << "a socket other than the channel: " << l;
      }
    }
    EXPECT_EQ(sockets, 1);
    for (int fd = 0; fd <= 2; ++fd) EXPECT_FALSE(link_of(s.info->pid, fd).empty()) << fd;
  }
  ::close(leak[0]);
  ::close(leak[1]);
}

// Threads parked on a condition variable until the end of the scope.
class parked_threads {
 public:
  explicit parked_threads(int n) {
    for (int i = 0; i < n; ++i)
      threads_.emplace_back([this] {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [this] { return done_; });
      });
  }
  ~parked_threads() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  parked_threads(const parked_threads&) = delete;
  parked_threads& operator=(const parked_threads&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::vector<std::thread> threads_;
};

// A context started while another thread holds the console's lock (the one
// every stderr log line takes), 32 more threads are parked and this process
// has unflushed stdio output: the child starts in time, with only its
// channel and stdio, and the buffered output is written once, by us. The
// same holds when the exec fails: the forked child has closed our file
// before it ends, and ends without flushing what it copied of our buffers
// (with both guards removed, the line is written twice).
TEST_F(hygiene, a_start_while_another_thread_holds_the_console_lock_is_clean) {
  const std::string out_path = dir_.file("buffered.txt");
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  ASSERT_NE(out, nullptr);
  std::fputs("written once\n", out);  // left in the buffer across the starts
  {
    parked_threads parked(32);
    std::mutex& console = spdlog::details::console_mutex::mutex();
    std::promise<void> held, release;
    std::thread holder([&] {
      std::lock_guard lock(console);
      held.set_value();
      release.get_future().wait();
    });
    held.get_future().wait();
    {
      root_node root(faultmux_children(dir_));
      double t0 = events::now();
      auto s = root.start("beside-a-held-lock", 10s);
      EXPECT_LT(events::now() - t0, 5.0);
      ASSERT_TRUE(s.info) << s.error;
      int sockets = 0;
      for (const auto& [fd, l] : fds_of(s.info->pid))
        if (l.starts_with("socket:")) {
          ++sockets;
          EXPECT_EQ(fd, 3) << "a socket other than the channel: " << l;
        }
      EXPECT_EQ(sockets, 1);
      EXPECT_EQ(root.call(s.info->id, "echo", {pickle::text{"alive"}}),
                pickle::value{pickle::text{"alive"}});
    }
    {
      children_config cfg = faultmux_children(dir_);
      cfg.program = dir_.file("no-such-program");
      root_node root(cfg);
      auto s = root.start("missing", 10s);
      EXPECT_FALSE(s.info);
    }
    release.set_value();
    holder.join();
  }
  std::fclose(out);
  EXPECT_EQ(test::slurp(out_path), "written once\n");
}

}  // namespace
}  // namespace faultmux
